using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;
using KLConfig = VisualGen.Pipelines.Flux.AutoencoderKLConfig;

namespace VisualGen.Tests.Models;

/// <summary>Where diffusers' tiled-decode goldens live: tests/VisualGen.Tests/Data/tiled_vae, written on the GPU machine
/// by tools/device/tiled_vae_golden.py (run.sh's goldens stage) and committed.</summary>
static class TiledVaeGolden
{
    public static string Folder { get; } = Path.Combine(Fixtures.RepoRoot, "tests", "VisualGen.Tests", "Data", "tiled_vae");

    public static bool Present => File.Exists(Path.Combine(Folder, "golden.safetensors")) && File.Exists(Path.Combine(Folder, "tiles.json"));
}

/// <summary>A fact that needs the tiled-VAE goldens; skipped, naming the missing folder, where they are absent.</summary>
public sealed class TiledVaeGoldenFactAttribute : FactAttribute
{
    public TiledVaeGoldenFactAttribute()
    {
        if (!TiledVaeGolden.Present)
            Skip = $"{TiledVaeGolden.Folder} (golden.safetensors, tiles.json) is missing: write it with tools/device/tiled_vae_golden.py (tools/device/run.sh goldens) and commit it";
    }
}

/// <summary>A fact that needs the tiled-encode goldens (written by the same script since stop 23); skipped, saying so,
/// where the committed golden predates them.</summary>
public sealed class TiledVaeEncodeGoldenFactAttribute : FactAttribute
{
    public TiledVaeEncodeGoldenFactAttribute()
    {
        if (!TiledVaeGolden.Present) { Skip = $"{TiledVaeGolden.Folder} is missing"; return; }
        using var golden = VisualGen.Checkpoints.SafeTensorsFile.Open(Path.Combine(TiledVaeGolden.Folder, "golden.safetensors"));
        if (!golden.Contains("autoencoder_kl_wan.encode_tiled"))
            Skip = "the committed tiled-VAE golden has no tiled-encode tensors: run tools/device/tiled_vae_golden.py again (tools/device/run.sh goldens) and commit it";
    }
}

/// <summary>
/// Our tiled decode (the decoder graphs on ONNX Runtime CPU, the blend in <see cref="AutoencoderKLTiling"/> and
/// <see cref="CausalVaeTiling"/>) against diffusers' own <c>enable_tiling()</c> decode of the same tiny random VAEs and
/// latents: FLUX.1-like AutoencoderKL with and without post_quant_conv, AutoencoderKLQwenImage (not clamped) and a
/// Wan 2.2-style AutoencoderKLWan (patch size 2, two latent frames, clamped).
/// </summary>
public class TiledVaeGoldenTests(ITestOutputHelper output)
{
    static JsonElement Tiles(string name)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TiledVaeGolden.Folder, "tiles.json")));
        return doc.RootElement.GetProperty("tiles").GetProperty(name).Clone();
    }

    void Check(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double cos = Compare.Cosine(expected.Floats, actual.Floats), err = Compare.MaxAbs(expected.Floats, actual.Floats);
        double tol = 1e-4 * Math.Max(Compare.MaxAbsRef(expected.Floats), 1);
        output.WriteLine($"{what}: cosine {cos:F7}, max abs {err:g3} (tolerance {tol:g3})");
        Assert.True(cos >= 0.9999 && err <= tol, $"{what}: cosine {cos:F7} (≥ 0.9999), max abs {err:g3} (≤ {tol:g3})");
    }

    [TiledVaeGoldenFact]
    public void AutoencoderKL_tiled_decode_matches_diffusers()
    {
        using var golden = SafeTensorsFile.Open(Path.Combine(TiledVaeGolden.Folder, "golden.safetensors"));
        foreach (var name in new[] { "autoencoder_kl", "autoencoder_kl_post_quant" })
        {
            string dir = Path.Combine(TiledVaeGolden.Folder, name);
            var tiles = Tiles(name);
            var tiling = new AutoencoderKLTiling
            {
                TileSampleMinSize = tiles.GetProperty("tile_sample_min_size").GetInt32(),
                TileLatentMinSize = tiles.GetProperty("tile_latent_min_size").GetInt32(),
                TileOverlapFactor = tiles.GetProperty("tile_overlap_factor").GetDouble(),
            };
            // the settings diffusers used are its defaults for the config
            Assert.Equal(AutoencoderKLTiling.For(KLConfig.Read(dir)), tiling);
            using var weights = ComponentWeights.Open(dir);
            using var engine = OrtTestEngine.Build(AutoencoderKL.TraceDecoder(dir, weights), "vae.decoder");
            HostTensor Decode(HostTensor z) => engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.LatentsInput] = z })[AutoencoderKL.SampleOutput];
            var z = HostTensor.FromSource(golden, $"{name}.latents");
            Assert.True(tiling.Applies(z), $"{name}: the golden's latent {z.ShapeText} should be tiled");
            Check(HostTensor.FromSource(golden, $"{name}.tiled"), tiling.Decode(z, Decode), $"{name} tiled");
            Check(HostTensor.FromSource(golden, $"{name}.untiled"), Decode(z), $"{name} untiled");
        }
    }

    [TiledVaeGoldenFact]
    public void AutoencoderKLQwenImage_tiled_decode_matches_diffusers()
    {
        const string name = "autoencoder_kl_qwenimage";
        string dir = Path.Combine(TiledVaeGolden.Folder, name);
        var tiling = Causal(CausalVaeTiling.ForQwenImage(WanVaeConfig.Read(dir)), Tiles(name));
        Assert.False(tiling.Clamp);
        using var golden = SafeTensorsFile.Open(Path.Combine(TiledVaeGolden.Folder, "golden.safetensors"));
        using var vae = new WanVaeEngines(dir);
        // an image is one latent frame: the first-chunk graph alone, as QwenImagePipeline decodes
        var unclamped = vae.UnclampedDecoder(WanChunk.First);
        var clamped = vae.Decoder(WanChunk.First);
        HostTensor Run(IEngine e, HostTensor z) => e.Run(new Dictionary<string, HostTensor> { [WanVaeDecoder.LatentsInput] = z })[WanVaeDecoder.SampleOutput];
        var z = HostTensor.FromSource(golden, $"{name}.latents");
        Assert.True(tiling.Applies(z));
        var tiled = tiling.TiledDecode(z, tile => Run(unclamped, tile));
        // diffusers' tiled path does not clamp: the golden has values beyond [-1, 1]
        Assert.Contains(tiled.Floats, v => Math.Abs(v) > 1);
        Check(HostTensor.FromSource(golden, $"{name}.tiled"), tiled, $"{name} tiled");
        Check(HostTensor.FromSource(golden, $"{name}.untiled"), Run(clamped, z), $"{name} untiled");
    }

    [TiledVaeGoldenFact]
    public void AutoencoderKLWan_tiled_decode_matches_diffusers()
    {
        const string name = "autoencoder_kl_wan";
        string dir = Path.Combine(TiledVaeGolden.Folder, name);
        var config = WanVaeConfig.Read(dir);
        var tiling = Causal(CausalVaeTiling.ForWan(config), Tiles(name));
        Assert.True(tiling.Clamp);
        using var golden = SafeTensorsFile.Open(Path.Combine(TiledVaeGolden.Folder, "golden.safetensors"));
        using var vae = new WanVaeEngines(dir);
        var unclamped = new WanVaeDecoder(vae.UnclampedDecoder(WanChunk.First), vae.UnclampedDecoder(WanChunk.Next));
        var clamped = new WanVaeDecoder(vae.Decoder(WanChunk.First), vae.Decoder(WanChunk.Next));
        var z = HostTensor.FromSource(golden, $"{name}.latents");
        Assert.True(tiling.Applies(z));
        Check(HostTensor.FromSource(golden, $"{name}.tiled"), tiling.TiledDecode(z, tile => unclamped.Decode(tile)), $"{name} tiled");
        Check(HostTensor.FromSource(golden, $"{name}.untiled"), clamped.Decode(z), $"{name} untiled");
    }

    /// <summary>The family's tiling with the tile sizes diffusers was given (enable_tiling's arguments).</summary>
    static CausalVaeTiling Causal(CausalVaeTiling defaults, JsonElement tiles)
    {
        Assert.Equal(defaults.SpatialCompressionRatio, tiles.GetProperty("spatial_compression_ratio").GetInt32());
        return defaults with
        {
            TileSampleMinHeight = tiles.GetProperty("tile_sample_min_height").GetInt32(),
            TileSampleMinWidth = tiles.GetProperty("tile_sample_min_width").GetInt32(),
            TileSampleStrideHeight = tiles.GetProperty("tile_sample_stride_height").GetInt32(),
            TileSampleStrideWidth = tiles.GetProperty("tile_sample_stride_width").GetInt32(),
        };
    }

    [TiledVaeEncodeGoldenFact]
    public void Causal_vaes_tiled_encode_matches_diffusers()
    {
        using var golden = SafeTensorsFile.Open(Path.Combine(TiledVaeGolden.Folder, "golden.safetensors"));
        foreach (var name in new[] { "autoencoder_kl_qwenimage", "autoencoder_kl_wan" })
        {
            string dir = Path.Combine(TiledVaeGolden.Folder, name);
            var config = WanVaeConfig.Read(dir);
            var tiling = Causal(name == "autoencoder_kl_wan" ? CausalVaeTiling.ForWan(config) : CausalVaeTiling.ForQwenImage(config), Tiles(name));
            using var vae = new WanVaeEngines(dir);
            var encoder = new WanVaeEncoder(vae.Encoder(WanChunk.First), vae.Encoder(WanChunk.Next));
            var video = HostTensor.FromSource(golden, $"{name}.video");
            Assert.True(tiling.AppliesToVideo(video));
            Check(HostTensor.FromSource(golden, $"{name}.encode_tiled"), tiling.TiledEncode(video, tile => encoder.Encode(tile)), $"{name} tiled encode");
            Check(HostTensor.FromSource(golden, $"{name}.encode_untiled"), encoder.Encode(video), $"{name} untiled encode");
        }
    }
}
