using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Cosmos3;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>Cosmos3OmniTransformer on random checkpoints of other configurations than the conformance fixtures,
/// exported and run under ONNX Runtime, against an independent float64 forward of diffusers' model
/// (<see cref="Cosmos3TransformerReference"/>).</summary>
public class Cosmos3TransformerRandomTests(ITestOutputHelper output)
{
    public static TheoryData<string> Configurations => ["silu-gqa", "relu2-und-k-norm-bias"];

    static Cosmos3TransformerReference Reference(string name) => name switch
    {
        // 4 query heads over 2 K/V heads, hidden size unlike heads·head_dim, sections (2, 1, 1) of 4 frequencies
        "silu-gqa" => new() { HiddenSize = 20, Heads = 4, KvHeads = 2, HeadDim = 8, IntermediateSize = 24, Layers = 2, VocabSize = 40, LatentChannels = 3, RopeAxesDim = [2, 1, 1] },
        // Nemotron-style relu² MLP, no text q/k norm but the und-key norm for generation, biased projections, 3 heads over 1
        _ => new() { HiddenSize = 18, Heads = 3, KvHeads = 1, HeadDim = 12, IntermediateSize = 30, Layers = 3, VocabSize = 33, LatentChannels = 2, RopeAxesDim = [3, 2, 1],
            HiddenAct = "relu2", QkNormForText = false, UseUndKNormForGen = true, AttentionBias = true, RopeTheta = 10000 },
    };

    [Theory]
    [MemberData(nameof(Configurations))]
    public void Exported_graph_matches_a_float64_forward(string name)
    {
        var reference = Reference(name);
        string dir = reference.Write(Fixtures.TempDir("cosmos3-random"), seed: 11);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        using var engine = OrtTestEngine.Build(Cosmos3OmniTransformer.Trace(dir, weights), "transformer");
        var rng = new Random(5);
        const int text = 7, frames = 3, rows = 2, columns = 3, vision = frames * rows * columns;
        var ids = Enumerable.Range(0, text).Select(_ => (long)rng.Next(reference.VocabSize)).ToArray();
        var hs = Enumerable.Range(0, vision * reference.PatchLatentDim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        // frame 0 a conditioning frame (no timestep embedding); fps-modulated, fractional time positions
        var noisy = Enumerable.Range(0, vision).Select(i => i < rows * columns ? 0f : 1f).ToArray();
        var positions = new float[3 * (text + vision)];
        for (int n = 0; n < text; n++) for (int a = 0; a < 3; a++) positions[a * (text + vision) + n] = n;
        for (int k = 0; k < vision; k++)
        {
            int f = k / (rows * columns), y = k / columns % rows, x = k % columns;
            positions[text + k] = text + 15000 + f * 1.5f;
            positions[text + vision + text + k] = y;
            positions[2 * (text + vision) + text + k] = x;
        }
        const double t = 937;
        var got = engine.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(ids, text),
            ["hidden_states"] = HostTensor.Float32(hs, vision, reference.PatchLatentDim),
            ["timestep"] = HostTensor.Float32([(float)t], 1),
            ["noisy_tokens"] = HostTensor.Float32(noisy, vision),
            ["position_ids"] = HostTensor.Float32(positions, 3, text + vision),
        })["sample"];
        Assert.Equal(new long[] { vision, reference.PatchLatentDim }, got.Shape);
        var expected = Array.ConvertAll(reference.Forward(ids, hs, t, noisy, positions), v => (float)v);
        output.WriteLine($"{name}: max abs {Compare.MaxAbs(expected, got.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected):g3})");
        Compare.Component(expected, got.Floats, name);
    }
}
