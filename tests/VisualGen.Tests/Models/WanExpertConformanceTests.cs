using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>Both experts of the Wan 2.2 A14B fixtures against their goldens (transformer.out, transformer_2.out), and
/// the image-to-video condition (mask + encoded first frame) the pipeline builds.</summary>
public class WanExpertConformanceTests
{
    [ConformanceTheory]
    [InlineData("wan22_t2v_a14b", "transformer")]
    [InlineData("wan22_t2v_a14b", "transformer_2")]
    [InlineData("wan22_i2v_a14b", "transformer")]
    [InlineData("wan22_i2v_a14b", "transformer_2")]
    public void Expert_matches_its_diffusers_golden(string family, string expert)
    {
        string dir = Path.Combine(Fixtures.Checkpoint(family), expert);
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(WanTransformer3D.Trace(dir, weights), expert);
        using var golden = Fixtures.Golden(family);
        var hidden = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states");
        if (golden.Contains("transformer.in.condition"))
        {
            // I2V: cat([latents, condition], dim=1), as the pipeline feeds it
            var cond = Fixtures.GoldenTensor(golden, "transformer.in.condition");
            hidden = ConcatChannels(hidden, cond);
        }
        var output = engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = hidden,
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
        })["sample"];
        var expected = Fixtures.GoldenTensor(golden, $"{expert}.out");
        Assert.Equal(expected.Shape, output.Shape);
        Compare.Component(expected.Floats, output.Floats, $"{family} {expert}.out");
    }

    static HostTensor ConcatChannels(HostTensor a, HostTensor b)
    {
        long batch = a.Shape[0], ca = a.Shape[1], cb = b.Shape[1], rest = a.ElementCount / (batch * ca);
        var o = new float[batch * (ca + cb) * rest];
        for (long n = 0; n < batch; n++)
        {
            Array.Copy(a.Floats, n * ca * rest, o, n * (ca + cb) * rest, ca * rest);
            Array.Copy(b.Floats, n * cb * rest, o, (n * (ca + cb) + ca) * rest, cb * rest);
        }
        return HostTensor.Float32(o, [batch, ca + cb, .. a.Shape[2..]]);
    }
}
