using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>Causal attention as the <c>Attention</c> node's <c>is_causal</c> attribute (CLIP's text model) instead of a
/// traced [seq, seq] mask: the same outputs on ONNX Runtime CPU, and on the native engine the same additive mask, made
/// when the shape is planned.</summary>
public class CausalAttentionTests
{
    static Graph Attention(bool attribute)
    {
        var t = new Tracer(attribute ? "causal_attribute" : "causal_mask");
        var q = t.Input("q", TensorDType.F32, "batch", "seq", "16");
        var k = t.Input("k", TensorDType.F32, "batch", "seq", "16");
        var v = t.Input("v", TensorDType.F32, "batch", "seq", "16");
        var y = attribute
            ? AttentionOp.Attention(q, k, v, heads: 2, causal: true)
            : AttentionOp.Attention(q, k, v, heads: 2, mask: AttentionMasks.Causal(t, q.Size(1)));
        t.Output(y, "y", "batch", "seq", "16");
        return t.Graph;
    }

    [Fact]
    public void The_causal_attribute_gives_the_materialized_masks_outputs_on_onnx_runtime()
    {
        var rng = new Random(3);
        HostTensor R() => HostTensor.Float32(Enumerable.Range(0, 2 * 9 * 16).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray(), 2, 9, 16);
        var inputs = new Dictionary<string, HostTensor> { ["q"] = R(), ["k"] = R(), ["v"] = R() };
        using var attribute = OrtTestEngine.Build(Attention(true), "attribute");
        using var materialized = OrtTestEngine.Build(Attention(false), "mask");
        var a = attribute.Run(inputs)["y"].Floats;
        var m = materialized.Run(inputs)["y"].Floats;
        Assert.True(Compare.MaxAbs(m, a) <= 1e-6, $"is_causal vs the traced mask: max abs {Compare.MaxAbs(m, a):g3}");
        // and it is causal: the first query attends only the first key, so its output is v's first token
        var v0 = inputs["v"].Floats;
        for (int c = 0; c < 16; c++) Assert.Equal(v0[c], a[c], 5);
    }

    [Fact]
    public void The_native_engine_makes_the_same_mask_when_it_plans_the_shape()
    {
        string dir = Fixtures.TempDir("causal_attr");
        foreach (bool attribute in new[] { true, false })
            new OnnxWriter().Write(Attention(attribute), Path.Combine(dir, $"{attribute}.onnx"));
        float[] MaskOf(bool attribute)
        {
            var (g, _) = CudaBackend.Compile(Path.Combine(dir, $"{attribute}.onnx"));
            using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["q"] = [1, 7, 16], ["k"] = [1, 7, 16], ["v"] = [1, 7, 16] });
            Assert.Contains(plan.Steps, s => s.Name.EndsWith("/softmax"));
            return Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 7, 7 })).Data;
        }
        var made = MaskOf(true);
        Assert.Equal(MaskOf(false), made);
        Assert.Equal(float.MinValue, made[1]);   // query 0 does not see key 1
        Assert.Equal(0f, made[7]);               // query 1 sees key 0
    }

    [Fact]
    public void A_causal_flag_with_a_mask_computed_on_the_device_is_refused_when_the_engine_is_built()
    {
        var t = new Tracer("causal_device_mask");
        var q = t.Input("q", TensorDType.F32, "batch", "seq", "16");
        var mask = t.Input("mask", TensorDType.F32, "batch", "1", "seq", "seq");
        t.Output(AttentionOp.Attention(q, q, q, heads: 2, mask: mask, causal: true), "y", "batch", "seq", "16");
        string path = Path.Combine(Fixtures.TempDir("causal_device_mask"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var e = Assert.Throws<EngineException>(() => CudaBackend.Compile(path));
        Assert.Contains("is causal with a mask computed on the device", e.Message);
    }
}
