using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Tensors;
using VisualGen.Tests.Models;

namespace VisualGen.Tests.Engines;

/// <summary>An engine run that needs more memory than the machine has says so, with the size and the shapes, instead
/// of passing on ONNX Runtime's arena message.</summary>
public class OrtOutOfMemoryTests
{
    [Fact]
    public void A_buffer_larger_than_memory_is_reported_as_out_of_memory_with_its_size_and_the_input_shapes()
    {
        // y = expand(x, shape): a [2^24, 2^24] float32 output is 1.1 PB, more than a 47-bit address space maps even where
        // the kernel overcommits memory
        var tracer = new Tracer("expand");
        var x = tracer.Input("x", TensorDType.F32, "1");
        var shape = tracer.Input("shape", TensorDType.I64, "2");
        tracer.Output(x.ExpandAs(shape), "y", "rows", "columns");
        using var engine = OrtTestEngine.Build(tracer.Graph, "expand");

        var e = Assert.Throws<EngineException>(() => engine.Run(new Dictionary<string, HostTensor>
        {
            ["x"] = HostTensor.Float32([1f], 1),
            ["shape"] = HostTensor.Int64([1L << 24, 1L << 24], 2),
        }));
        Assert.StartsWith("engine 'expand' ran out of memory: one of its buffers needs 1125899.9 GB at these shapes (", e.Message);
        Assert.Contains("x [1]", e.Message);
        Assert.Contains("shape [2]", e.Message);

        // a small one runs
        var y = engine.Run(new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([2f], 1), ["shape"] = HostTensor.Int64([2, 3], 2) })["y"];
        Assert.Equal([2f, 2f, 2f, 2f, 2f, 2f], y.Floats);
    }

    [Theory]
    [InlineData("/onnxruntime_src/onnxruntime/core/framework/bfc_arena.cc:360 void* onnxruntime::BFCArena::AllocateRawInternal(size_t, bool, onnxruntime::Stream*) Failed to allocate memory for requested buffer of size 34898706432", 34898706432L)]
    [InlineData("Non-zero status code returned while running MatMul node", null)]
    public void The_arena_message_gives_the_size(string message, long? bytes) =>
        Assert.Equal(bytes, VisualGen.Engines.OnnxRuntime.OrtEngine.OutOfMemory(message));
}
