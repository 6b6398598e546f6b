using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>AutoencoderKLQwenImage (the Wan 2.1 VAE definition, one frame) against the diffusers goldens.</summary>
public class QwenImageVaeConformanceTests(ITestOutputHelper log)
{
    static string VaeDir => Path.Combine(Fixtures.Checkpoint("qwenimage"), "vae");

    [ConformanceFact]
    public void Decode_matches_diffusers_golden()
    {
        using var vae = new WanVaeEngines(VaeDir);
        using var golden = Fixtures.Golden("qwenimage");
        var actual = new WanVaeDecoder(vae.Decoder(WanChunk.First), vae.Decoder(WanChunk.Next)).Decode(Fixtures.GoldenTensor(golden, "vae.decode.in"));
        var expected = Fixtures.GoldenTensor(golden, "vae.decode.out");
        Assert.Equal(expected.Shape, actual.Shape);
        log.WriteLine($"qwenimage vae.decode.out: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, "qwenimage vae.decode.out");
    }

    [ConformanceFact]
    public void Encode_matches_diffusers_golden()
    {
        using var vae = new WanVaeEngines(VaeDir);
        using var golden = Fixtures.Golden("qwenimage");
        var actual = new WanVaeEncoder(vae.Encoder(WanChunk.First), vae.Encoder(WanChunk.Next)).Encode(Fixtures.GoldenTensor(golden, "vae.encode.in"));
        var expected = Fixtures.GoldenTensor(golden, "vae.encode.out_mean");
        Assert.Equal(expected.Shape, actual.Shape);
        log.WriteLine($"qwenimage vae.encode.out_mean: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, "qwenimage vae.encode.out_mean");
    }

    [Fact]
    public void Input_channels_sets_both_in_and_out_channels()
    {
        string dir = Fixtures.TempDir("qwenvae");
        File.WriteAllText(Path.Combine(dir, "config.json"),
            """{"_class_name": "AutoencoderKLQwenImage", "input_channels": 4, "z_dim": 2, "latents_mean": [0, 1], "latents_std": [1, 2]}""");
        var c = WanVaeConfig.Read(dir);
        Assert.Equal(4, c.InChannels);
        Assert.Equal(4, c.OutChannels);
    }
}
