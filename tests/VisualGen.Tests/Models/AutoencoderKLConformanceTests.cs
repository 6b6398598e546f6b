using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class AutoencoderKLConformanceTests(ITestOutputHelper output)
{
    void Check(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"{what}: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, what);
    }

    [ConformanceFact]
    public void Flux1_vae_decoder_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux1"), "vae");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(AutoencoderKL.TraceDecoder(dir, weights), "vae.decoder");
        using var golden = Fixtures.Golden("flux1");
        var sample = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.LatentsInput] = Fixtures.GoldenTensor(golden, "vae.decode.in") })[AutoencoderKL.SampleOutput];
        Check(Fixtures.GoldenTensor(golden, "vae.decode.out"), sample, "flux1 vae.decode.out");
    }

    [ConformanceFact]
    public void Flux1_vae_encoder_mean_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux1"), "vae");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(AutoencoderKL.TraceEncoder(dir, weights), "vae.encoder");
        using var golden = Fixtures.Golden("flux1");
        var mean = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.ImageInput] = Fixtures.GoldenTensor(golden, "vae.encode.in") })[AutoencoderKL.MeanOutput];
        Check(Fixtures.GoldenTensor(golden, "vae.encode.out_mean"), mean, "flux1 vae.encode.out_mean");
    }
}
