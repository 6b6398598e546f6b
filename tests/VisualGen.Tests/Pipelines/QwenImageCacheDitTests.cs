using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.QwenImage;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Cache-DiT on Qwen-Image: the transformer's parts (text and image streams joined, text first) on a random 3-block
/// checkpoint compose to the whole graph; through QwenImagePipeline (true CFG: one cache state per branch) threshold 0
/// gives the fixture's goldens and a huge threshold caches every step after the warm-up.
/// </summary>
public class QwenImageCacheDitTests
{
    [Fact]
    public void Parts_compose_to_the_whole_transformer_on_a_random_checkpoint()
    {
        string dir = QwenImageTransformerRandomTests.WriteRandomCheckpoint(heads: 3, headDim: 8, axes: [2, 2, 4], layers: 3, inChannels: 16,
            outChannels: 4, jointDim: 12, seed: 23);
        using var cleanup = new DeletedOnDispose(dir);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        using var engines = new PartEngines(part =>
            part.Length == 0 ? QwenImageTransformer2DModel.Trace(dir, weights) : QwenImageTransformer2DModel.TracePart(dir, weights, part));
        IEngine Engine(string part) => engines[part];
        var rng = new Random(5);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = HostTensor.Float32(Rand(2 * 6 * 16), 2, 6, 16),
            ["timestep"] = HostTensor.Float32([0.9f, 0.4f], 2),
            ["encoder_hidden_states"] = HostTensor.Float32(Rand(2 * 5 * 12), 2, 5, 12),
            ["img_shapes"] = HostTensor.Int64([1, 2, 3], 3),
        };
        var parts = new TestEngineParts(Engine, inputs, 3, ["hidden_states", "encoder_hidden_states"],
            ["timestep", "encoder_hidden_states", "img_shapes"], ["timestep", "encoder_hidden_states"]);
        var hidden = parts.Embed();
        Assert.Equal([2L, 5 + 6, 24], hidden.Shape);
        foreach (var (from, to) in new[] { (0, 1), (1, 3) }) hidden = parts.Blocks(from, to, hidden);
        Compare.Component(parts.Whole().ToHost().Floats, parts.Output(hidden).ToHost().Floats, "qwen-image parts composed", factor: 1e-5);
    }
}
