using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Ltx2;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// LTX-2's tiled VAE decoding (AutoencoderKLLTX2Video.tiled_decode: 512-pixel tiles every 448, the whole clip per tile,
/// blended as the causal VAEs' are, no clamp). The fixture's VAE compresses space by 2, so a latent wider than one default
/// tile needs a video too large for a test's transformer: the tiles are made smaller here (diffusers' enable_tiling takes
/// the sizes too). Within one tile the output is the untiled one exactly; beyond, it is the tiled decode of the final latents.
/// </summary>
public class Ltx2VaeTilingTests
{
    [ConformanceFact]
    public void Vae_tiling_decodes_the_clip_in_blended_tiles()
    {
        string dir = Fixtures.Checkpoint("ltx2");
        using var provider = ConformancePipelines.Provider();
        using var pipeline = (Ltx2Pipeline)ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = "waves", Height = 32, Width = 64, NumFrames = 9, NumInferenceSteps = 2, Seed = 4 };
        GenerationResult Run(GenerationRequest r, IProgress<GenerationProgress>? p = null) => pipeline.GenerateAsync(r, p).GetAwaiter().GetResult();

        Assert.Equal(Run(request).Output.Floats, Run(request with { VaeTiling = true }).Output.Floats);   // within the default tile

        int ratio = pipeline.VaeTiles.SpatialCompressionRatio;
        pipeline.VaeTiles = pipeline.VaeTiles with
        {
            TileSampleMinHeight = 16 * ratio, TileSampleMinWidth = 16 * ratio, TileSampleStrideHeight = 12 * ratio, TileSampleStrideWidth = 12 * ratio,
        };
        var untiled = Run(request);
        var progress = new List<GenerationProgress>();
        var tiled = Run(request with { VaeTiling = true }, new SyncProgress(progress.Add));
        Assert.Equal(untiled.Latents.Floats, tiled.Latents.Floats);
        Assert.NotEqual(untiled.Output.Floats, tiled.Output.Floats);
        Assert.True(progress.Count(p => p.Stage == "decode") > 2, "the tiles are reported");

        var decoder = provider.GetEngine(dir, "vae.decoder", null);
        var expected = pipeline.VaeTiles.TiledDecode(tiled.Latents, z => decoder.Run(new Dictionary<string, HostTensor> { ["latents"] = z })["sample"]);
        Assert.Equal(VideoPostprocess.ToNumpyLayout(expected).Floats, tiled.Output.Floats);
    }
}
