using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Ltx2.AudioVae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Ltx2AudioVaeConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Ltx2_audio_vae_decoder_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "audio_vae");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(AutoencoderKLLtx2Audio.TraceDecoder(dir, weights), "audio_vae.decoder");
        using var golden = Fixtures.Golden("ltx2");
        var mel = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKLLtx2Audio.LatentsInput] = Fixtures.GoldenTensor(golden, "audio_vae.decode.in.arg0") })[AutoencoderKLLtx2Audio.MelOutput];
        var expected = Fixtures.GoldenTensor(golden, "audio_vae.decode.out");
        Assert.Equal(expected.Shape, mel.Shape);
        output.WriteLine($"max abs error {Compare.MaxAbs(expected.Floats, mel.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, mel.Floats, "ltx2 audio_vae.decode.out");
    }
}
