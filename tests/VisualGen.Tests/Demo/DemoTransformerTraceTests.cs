using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Models;

namespace VisualGen.Tests.Demo;

public class DemoTransformerTraceTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    [Fact]
    public void Demo_transformer_traces_using_every_weight_and_runs_with_activations_in_range()
    {
        string dir = Path.Combine(demo.Directory, "transformer");
        using var weights = ComponentWeights.Open(dir);
        var graph = WanTransformer3D.Trace(dir, weights); // throws when a weight is missing or unused
        using var engine = OrtTestEngine.Build(graph, "transformer");

        var random = new VisualGen.Demo.DemoRandom(3);
        HostTensor Noise(params long[] shape)
        {
            var values = new float[(int)shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextUniform(0, 1.7);
            return HostTensor.Float32(values, shape);
        }
        var outputs = engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Noise(1, 16, 2, 8, 8),
            ["timestep"] = HostTensor.Float32([500f], [1]),
            ["encoder_hidden_states"] = Noise(1, 10, 32),
        });
        var sample = outputs["sample"];
        Assert.Equal([1L, 16, 2, 8, 8], sample.Shape);
        Assert.All(sample.Floats, x => Assert.True(float.IsFinite(x)));
        double rms = Math.Sqrt(sample.Floats.Average(x => (double)x * x));
        Assert.InRange(rms, 0.01, 10); // neither vanishing nor exploding
        Assert.True(sample.Floats.Distinct().Count() > 1000, "the output is not constant");
    }
}
