using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Cosmos3;
using VisualGen.Exporter.Quantization;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Quantization;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Step caches on Cosmos3: the transformer's parts (text and vision streams joined, text first) on a random 3-layer
/// checkpoint compose to the whole graph, float and FP8-quantized (through the pipeline:
/// <see cref="StepCachesWithoutTableTests"/>).
/// </summary>
public class Cosmos3StepCacheTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Parts_compose_to_the_whole_transformer_on_a_random_checkpoint(bool fp8)
    {
        var reference = new Cosmos3TransformerReference { HiddenSize = 20, Heads = 4, KvHeads = 2, HeadDim = 8, IntermediateSize = 24, Layers = 3,
            VocabSize = 40, LatentChannels = 3, RopeAxesDim = [2, 1, 1] };
        string dir = reference.Write(Fixtures.TempDir("cosmos3-parts"), seed: 17);
        using var cleanup = new DeletedOnDispose(dir);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        // each graph traced with its own QuantizedLinears, as the engine provider traces them
        QuantizedLinears? Q() => fp8 ? new QuantizedLinears(new QuantizationConfig(QuantAlgo.Fp8, []), fromCheckpoint: false) : null;
        using var engines = new PartEngines(part =>
            part.Length == 0 ? Cosmos3OmniTransformer.Trace(dir, weights, Q()) : Cosmos3OmniTransformer.TracePart(dir, weights, part, Q()));
        IEngine Engine(string part) => engines[part];
        var rng = new Random(3);
        const int text = 5, vision = 8;
        var positions = new float[3 * (text + vision)];
        for (int a = 0; a < 3; a++) for (int n = 0; n < text + vision; n++) positions[a * (text + vision) + n] = n < text ? n : text + 15000 + (n - text) * (a + 1) * 0.5f;
        var inputs = new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(Enumerable.Range(0, text).Select(_ => (long)rng.Next(reference.VocabSize)).ToArray(), text),
            ["hidden_states"] = HostTensor.Float32(Enumerable.Range(0, vision * reference.PatchLatentDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(),
                vision, reference.PatchLatentDim),
            ["timestep"] = HostTensor.Float32([611f], 1),
            ["noisy_tokens"] = HostTensor.Float32(Enumerable.Range(0, vision).Select(i => i < 4 ? 0f : 1f).ToArray(), vision),
            ["position_ids"] = HostTensor.Float32(positions, 3, text + vision),
        };
        var parts = new TestEngineParts(Engine, inputs, 3, ["input_ids", "hidden_states", "timestep", "noisy_tokens"],
            ["input_ids", "position_ids"], ["input_ids"]);
        var hidden = parts.Embed();
        Assert.Equal([1L, text + vision, 20], hidden.Shape);
        foreach (var (from, to) in new[] { (0, 1), (1, 3) }) hidden = parts.Blocks(from, to, hidden);
        var whole = parts.Whole().ToHost().Floats;
        Compare.Component(whole, parts.Output(hidden).ToHost().Floats, "cosmos3 parts composed", factor: 1e-5);
        if (fp8)
        {
            // the quantization shows: the FP8 transformer's output is not the float one
            using var plain = new PartEngines(part => Cosmos3OmniTransformer.Trace(dir, weights));
            Assert.True(Compare.MaxAbs(plain[""].Run(inputs)["sample"].Floats, whole) > 1e-4);
        }
        // TeaCache's compared tensor is the timestep embedding the noisy tokens get
        var temb = Engine(TransformerParts.TimeEmbedding).Run(new Dictionary<string, HostTensor> { ["timestep"] = inputs["timestep"] })["temb"];
        Assert.Equal([1L, 20], temb.Shape);
    }
}
