using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Cosmos3;
using VisualGen.Pipelines.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Cosmos3's tiled VAE decoding: its VAE is AutoencoderKLWan, so --vae-tiling runs Wan's tiled_decode
/// (<see cref="CausalVaeTiling"/>, checked against diffusers elsewhere) on the de-normalized final latents. Within one
/// 256-pixel tile the output is the untiled one exactly; a wider latent decodes in reported, blended tiles.
/// </summary>
public class Cosmos3VaeTilingTests
{
    [ConformanceFact]
    public void Vae_tiling_decodes_a_latent_wider_than_a_tile_in_blended_tiles()
    {
        string dir = Fixtures.Checkpoint("cosmos3_t2v");
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = "a lighthouse", Height = 32, Width = 48, NumFrames = 1, NumInferenceSteps = 2, Seed = 2 };
        GenerationResult Run(GenerationRequest r, IProgress<GenerationProgress>? p = null) => pipeline.GenerateAsync(r, p).GetAwaiter().GetResult();

        Assert.Equal(Run(request).Output.Floats, Run(request with { VaeTiling = true }).Output.Floats);

        var wide = request with { Width = 320 };   // wider than the 256-pixel tile
        var untiled = Run(wide);
        var progress = new List<GenerationProgress>();
        var tiled = Run(wide with { VaeTiling = true }, new SyncProgress(progress.Add));
        Assert.Equal(untiled.Latents.Floats, tiled.Latents.Floats);
        Assert.NotEqual(untiled.Output.Floats, tiled.Output.Floats);
        Assert.True(progress.Count(p => p.Stage == "decode") > 2, "the tiles are reported");

        var config = Cosmos3ModelConfig.Load(ModelIndex.Load(dir));
        var vaeLatents = new WanLatentStats(config.Vae).Denormalize(tiled.Latents);
        var expected = CausalVaeTiling.ForWan(config.Vae).TiledDecode(vaeLatents, tile => new WanVaeDecoder(
            provider.GetEngine(dir, "vae.decoder_first_unclamped", null), provider.GetEngine(dir, "vae.decoder_next_unclamped", null)).Decode(tile));
        Assert.Equal(VideoPostprocess.ToNumpyLayout(expected).Floats, tiled.Output.Floats);
    }
}
