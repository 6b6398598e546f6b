using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class AutoencoderKLFlux2ConformanceTests(ITestOutputHelper output)
{
    static string Dir => Path.Combine(Fixtures.Checkpoint("flux2"), "vae");

    void Check(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"{what}: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, what);
    }

    [ConformanceFact]
    public void Flux2_vae_decoder_matches_diffusers_golden()
    {
        using var weights = ComponentWeights.Open(Dir);
        var graph = AutoencoderKLFlux2.TraceDecoder(Dir, weights);
        Assert.Equal("AutoencoderKLFlux2", graph.Metadata["visualgen.class"]);
        using var engine = OrtTestEngine.Build(graph, "vae.decoder");
        using var golden = Fixtures.Golden("flux2");
        var sample = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.LatentsInput] = Fixtures.GoldenTensor(golden, "vae.decode.in.arg0") })[AutoencoderKL.SampleOutput];
        Check(Fixtures.GoldenTensor(golden, "vae.decode.out"), sample, "flux2 vae.decode.out");
    }

    [ConformanceFact]
    public void Flux2_vae_encoder_mean_matches_diffusers_golden()
    {
        using var weights = ComponentWeights.Open(Dir);
        using var engine = OrtTestEngine.Build(AutoencoderKLFlux2.TraceEncoder(Dir, weights), "vae.encoder");
        using var golden = Fixtures.Golden("flux2");
        var mean = engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.ImageInput] = Fixtures.GoldenTensor(golden, "vae.encode.in") })[AutoencoderKL.MeanOutput];
        Check(Fixtures.GoldenTensor(golden, "vae.encode.out_mean"), mean, "flux2 vae.encode.out_mean");
    }

    [ConformanceFact]
    public void A_patch_size_other_than_2x2_is_refused()
    {
        string dir = Fixtures.TempDir("flux2-vae");
        try
        {
            foreach (var f in Directory.GetFiles(Dir)) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
            string config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"patch_size\": [\n    2,\n    2\n  ]", "\"patch_size\": [1, 1]"));
            Assert.Contains("[1, 1]", File.ReadAllText(config));
            using var weights = ComponentWeights.Open(dir);
            var e = Assert.Throws<CheckpointException>(() => AutoencoderKLFlux2.TraceDecoder(dir, weights));
            Assert.Contains("patch_size", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
