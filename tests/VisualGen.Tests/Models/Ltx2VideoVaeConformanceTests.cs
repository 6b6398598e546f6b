using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Ltx2VideoVaeConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Ltx2_video_vae_decoder_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "vae");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(AutoencoderKLLtx2Video.TraceDecoder(dir, weights), "vae.decoder");
        using var golden = Fixtures.Golden("ltx2");
        var sample = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKLLtx2Video.LatentsInput] = Fixtures.GoldenTensor(golden, "vae.decode.in.arg0") })[AutoencoderKLLtx2Video.SampleOutput];
        var expected = Fixtures.GoldenTensor(golden, "vae.decode.out");
        Assert.Equal(expected.Shape, sample.Shape);
        output.WriteLine($"max abs error {Compare.MaxAbs(expected.Floats, sample.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, sample.Floats, "ltx2 vae.decode.out");
    }
}
