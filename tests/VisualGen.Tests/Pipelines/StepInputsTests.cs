using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

public class StepInputsTests
{
    sealed class Counted(HostTensor t) : IEngineTensor
    {
        public HostTensor Tensor { get; } = t;
        public bool Disposed { get; private set; }
        public long[] Shape => Tensor.Shape;
        public TensorDType DType => Tensor.DType;
        public HostTensor ToHost() => Disposed ? throw new ObjectDisposedException("tensor") : Tensor;
        public void Dispose() => Disposed = true;
        public static Counted Of(HostTensor t, List<Counted> all) { var c = new Counted(t); all.Add(c); return c; }
    }

    /// <summary>y = x + context (sums of all elements), counting uploads.</summary>
    sealed class AddEngine(List<Counted> uploads) : IResidentEngine
    {
        public EngineManifest Manifest => throw new NotSupportedException();
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) =>
            new Dictionary<string, HostTensor> { ["y"] = HostTensor.Float32([inputs["x"].Floats[0] + inputs["context"].Floats.Sum()], 1) };
        public IEngineTensor Upload(HostTensor tensor) => Counted.Of(tensor, uploads);
        public ITensorArithmetic Arithmetic => HostArithmetic.Instance;
        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs)
        {
            Assert.All(inputs.Values, t => Assert.False(((Counted)t).Disposed));
            var y = Run(inputs.ToDictionary(kv => kv.Key, kv => kv.Value.ToHost()))["y"];
            return new Dictionary<string, IEngineTensor> { ["y"] = new Counted(y) };
        }
        public void Dispose() { }
    }

    [Fact]
    public void Constant_inputs_are_uploaded_once_per_engine_and_per_step_inputs_every_step()
    {
        var uploads = new List<Counted>();
        var a = new AddEngine(uploads);
        var b = new AddEngine(uploads);
        var context = HostTensor.Float32([1f, 2f, 3f], 3);
        using (var steps = new StepInputs(new Dictionary<string, HostTensor> { ["context"] = context }))
        {
            for (int i = 0; i < 3; i++)
                Assert.Equal(10f + i + 6f, steps.Run(a, new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([10f + i], 1) }, "y").Floats[0]);
            Assert.Equal(100f + 6f, steps.Run(b, new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([100f], 1) }, "y").Floats[0]);
            // context: once for a, once for b; x: every call; every per-step upload is freed after its call
            Assert.Equal(2, uploads.Count(u => u.Tensor == context));
            Assert.Equal(4, uploads.Count(u => u.Tensor != context));
            Assert.All(uploads.Where(u => u.Tensor != context), u => Assert.True(u.Disposed));
            Assert.All(uploads.Where(u => u.Tensor == context), u => Assert.False(u.Disposed));
        }
        Assert.All(uploads, u => Assert.True(u.Disposed));
    }

    [Fact]
    public void Host_engines_get_constant_and_per_step_inputs_together()
    {
        var host = new HostOnlyAdd();
        using var steps = new StepInputs(new Dictionary<string, HostTensor> { ["context"] = HostTensor.Float32([5f], 1) });
        Assert.Equal(7f, steps.Run(host, new Dictionary<string, HostTensor> { ["x"] = HostTensor.Float32([2f], 1) }, "y").Floats[0]);
    }

    sealed class HostOnlyAdd : IEngine
    {
        public EngineManifest Manifest => throw new NotSupportedException();
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) =>
            new Dictionary<string, HostTensor> { ["y"] = HostTensor.Float32([inputs["x"].Floats[0] + inputs["context"].Floats[0]], 1) };
        public void Dispose() { }
    }
}
