using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>AutoencoderKLWan decode/encode, chunked as diffusers runs it, against the diffusers goldens.</summary>
public class WanVaeConformanceTests(ITestOutputHelper log)
{
    public static TheoryData<string> Families => ["wan21_t2v", "wan21_t2v_euler", "wan21_i2v", "wan22_t2v_a14b", "wan22_i2v_a14b", "wan22_ti2v_5b"];

    [ConformanceTheory]
    [MemberData(nameof(Families))]
    public void Chunked_decode_matches_diffusers_golden(string family)
    {
        using var vae = new WanVaeEngines(Path.Combine(Fixtures.Checkpoint(family), "vae"));
        using var golden = Fixtures.Golden(family);
        var decoder = new WanVaeDecoder(vae.Decoder(WanChunk.First), vae.Decoder(WanChunk.Next));
        var actual = decoder.Decode(Fixtures.GoldenTensor(golden, "vae.decode.in"));
        var expected = Fixtures.GoldenTensor(golden, "vae.decode.out");
        Assert.Equal(expected.Shape, actual.Shape);
        log.WriteLine($"{family} vae.decode.out: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, $"{family} vae.decode.out");
    }

    [ConformanceTheory]
    [MemberData(nameof(Families))]
    public void Chunked_encode_matches_diffusers_golden(string family)
    {
        using var vae = new WanVaeEngines(Path.Combine(Fixtures.Checkpoint(family), "vae"));
        using var golden = Fixtures.Golden(family);
        var encoder = new WanVaeEncoder(vae.Encoder(WanChunk.First), vae.Encoder(WanChunk.Next));
        var actual = encoder.Encode(Fixtures.GoldenTensor(golden, "vae.encode.in"));
        var expected = Fixtures.GoldenTensor(golden, "vae.encode.out_mean");
        Assert.Equal(expected.Shape, actual.Shape);
        log.WriteLine($"{family} vae.encode.out_mean: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, $"{family} vae.encode.out_mean");
    }

    [ConformanceTheory]
    [MemberData(nameof(Families))]
    public void Single_pass_graphs_match_diffusers_golden(string family)
    {
        using var vae = new WanVaeEngines(Path.Combine(Fixtures.Checkpoint(family), "vae"));
        using var golden = Fixtures.Golden(family);
        var sample = vae.Decoder(WanChunk.Full).Run(new Dictionary<string, Tensors.HostTensor> { ["latents"] = Fixtures.GoldenTensor(golden, "vae.decode.in") })["sample"];
        Compare.Component(Fixtures.GoldenTensor(golden, "vae.decode.out").Floats, sample.Floats, $"{family} full-sequence vae.decode.out");
        var mean = vae.Encoder(WanChunk.Full).Run(new Dictionary<string, Tensors.HostTensor> { ["video"] = Fixtures.GoldenTensor(golden, "vae.encode.in") })["latent_mean"];
        Compare.Component(Fixtures.GoldenTensor(golden, "vae.encode.out_mean").Floats, mean.Floats, $"{family} full-sequence vae.encode.out_mean");
    }
}
