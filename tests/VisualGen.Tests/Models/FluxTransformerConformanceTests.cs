using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class FluxTransformerConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Flux1_transformer_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux1"), "transformer");
        using var weights = ComponentWeights.Open(dir);
        var graph = FluxTransformer2D.Trace(dir, weights);
        using var engine = OrtTestEngine.Build(graph, "transformer");
        using var golden = Fixtures.Golden("flux1");
        var inputs = new Dictionary<string, HostTensor>();
        foreach (var name in new[] { "hidden_states", "encoder_hidden_states", "pooled_projections", "timestep", "img_ids", "txt_ids", "guidance" })
            inputs[name] = Fixtures.GoldenTensor(golden, $"transformer.in.{name}");
        var sample = engine.Run(inputs)["sample"];
        var expected = Fixtures.GoldenTensor(golden, "transformer.out");
        Assert.Equal(expected.Shape, sample.Shape);
        output.WriteLine($"transformer.out: max abs error {Compare.MaxAbs(expected.Floats, sample.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, sample.Floats, "flux1 transformer.out");
    }
}
