using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Flux2TransformerConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Flux2_transformer_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux2"), "transformer");
        using var weights = ComponentWeights.Open(dir);
        var graph = Flux2Transformer2D.Trace(dir, weights);
        using var engine = OrtTestEngine.Build(graph, "transformer");
        using var golden = Fixtures.Golden("flux2");
        var inputs = new Dictionary<string, HostTensor>();
        foreach (var name in new[] { "hidden_states", "encoder_hidden_states", "timestep", "guidance" })
            inputs[name] = Fixtures.GoldenTensor(golden, $"transformer.in.{name}");
        // the pipeline passes ids [batch, tokens, 4] as int64; the transformer reads the first batch entry's, as floats
        foreach (var name in new[] { "img_ids", "txt_ids" })
        {
            var ids = Fixtures.GoldenTensor(golden, $"transformer.in.{name}");
            inputs[name] = HostTensor.Float32(ids.Longs.Select(v => (float)v).ToArray(), ids.Shape[1], ids.Shape[2]);
        }
        var sample = engine.Run(inputs)["sample"];
        var expected = Fixtures.GoldenTensor(golden, "transformer.out");
        Assert.Equal(expected.Shape, sample.Shape);
        output.WriteLine($"transformer.out: max abs error {Compare.MaxAbs(expected.Floats, sample.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, sample.Floats, "flux2 transformer.out");
    }
}
