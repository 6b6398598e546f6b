using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux2;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.2's tiled VAE decoding (AutoencoderKLFlux2.tiled_decode is AutoencoderKL's, which <see cref="AutoencoderKLTiling"/>
/// implements and other tests check against diffusers): the fixture's VAE has 8-latent-pixel tiles (sample_size 64,
/// four blocks); within one the tiled output is the untiled one exactly, beyond one it is the tiled decode of the final
/// latents, seams and all.
/// </summary>
public class Flux2VaeTilingTests
{
    [ConformanceFact]
    public void Vae_tiling_decodes_a_latent_larger_than_a_tile_in_blended_tiles()
    {
        string dir = Fixtures.Checkpoint("flux2");
        using var provider = ConformancePipelines.Provider();
        using var pipeline = (Flux2Pipeline)ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = "a lighthouse", Height = 64, Width = 48, NumInferenceSteps = 2, MaxSequenceLength = 16, Seed = 2 };
        GenerationResult Run(GenerationRequest r) => pipeline.GenerateAsync(r).GetAwaiter().GetResult();

        Assert.Equal(Run(request).Output.Floats, Run(request with { VaeTiling = true }).Output.Floats);   // 8×6 latents: one tile

        var tall = request with { Height = 96 };   // 12×6 latents: tiles at rows 0 and 6
        var untiled = Run(tall);
        var progress = new List<GenerationProgress>();
        var tiled = pipeline.GenerateAsync(tall with { VaeTiling = true }, new SyncProgress(progress.Add)).GetAwaiter().GetResult();
        Assert.Equal(untiled.Latents.Floats, tiled.Latents.Floats);
        Assert.NotEqual(untiled.Output.Floats, tiled.Output.Floats);
        Assert.Equal([(1, 2), (2, 2)], progress.Where(p => p.Stage == "decode").Skip(1).Select(p => (p.Step, p.TotalSteps)));

        var config = Flux2ModelConfig.Load(ModelIndex.Load(dir));
        var decoder = provider.GetEngine(dir, "vae.decoder", null);
        var z = pipeline.DecoderLatents(tiled.Latents, 96 / 16, 48 / 16);
        var expected = AutoencoderKLTiling.For(config.Vae.Vae).TiledDecode(z,
            t => decoder.Run(new Dictionary<string, HostTensor> { ["latents"] = t })["sample"]);
        Assert.Equal(ImagePostprocess.ToNumpyLayout(expected).Floats, tiled.Output.Floats);
    }
}
