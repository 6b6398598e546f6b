using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Flux;

/// <summary>What FluxPipeline reads from a checkpoint's configs: the transformer's packed channels and whether it
/// embeds guidance (FLUX.1-dev) or not (schnell), and the VAE's scale factor and latent scaling/shift.</summary>
public sealed record FluxModelConfig
{
    public required int TransformerInChannels { get; init; }
    /// <summary>out_channels (in_channels when unset): the packed latents' channels. FLUX.1 Fill's transformer reads more
    /// (<see cref="FluxFill"/>: the masked image's latents and the mask beside the latents) than it predicts.</summary>
    public int TransformerOutChannels { get; init; }
    public required bool GuidanceEmbeds { get; init; }
    public required TransformerSize Transformer { get; init; }
    public required AutoencoderKLConfig Vae { get; init; }
    /// <summary>The transformer's blocks, double-stream then single-stream (num_layers + num_single_layers): what
    /// Cache-DiT's Fn and Bn count.</summary>
    public int NumBlocks { get; init; } = 19 + 38;

    /// <summary>num_channels_latents: the packed channels // 4 (the transformer sees 2×2 patches).</summary>
    public int LatentChannels => TransformerOutChannels / 4;
    public int VaeScaleFactor => Vae.ScaleFactor;
    /// <summary>Height and width must be multiples of vae_scale_factor · 2 (the 2×2 packing).</summary>
    public int SizeMultiple => VaeScaleFactor * 2;

    public static FluxModelConfig Load(ModelIndex index)
    {
        var transformer = index.LoadConfig("transformer");
        int inChannels = transformer.GetInt("in_channels", 64);
        int outChannels = transformer.GetOptionalInt("out_channels") ?? inChannels;
        var vae = AutoencoderKLConfig.Read(index.ComponentDirectory("vae"));
        if (outChannels % 4 != 0 || outChannels / 4 != vae.LatentChannels)
            throw new CheckpointException(transformer.FilePath,
                $"out_channels {outChannels} must be 4 × the VAE's latent_channels ({vae.LatentChannels}) for 2×2 packed latents");
        // FLUX.1 Fill reads the latents, the masked image's latents and the mask (vae_scale_factor² values per latent pixel, packed)
        int expectedIn = index.ClassName == FluxFill.ClassName ? 2 * outChannels + 4 * vae.ScaleFactor * vae.ScaleFactor : outChannels;
        if (inChannels != expectedIn)
            throw new CheckpointException(transformer.FilePath, index.ClassName == FluxFill.ClassName
                ? $"in_channels {inChannels} must be {expectedIn} for {FluxFill.ClassName}: the latents' {outChannels}, the masked image's {outChannels} and the mask's {4 * vae.ScaleFactor * vae.ScaleFactor}"
                : $"in_channels {inChannels} must equal out_channels {outChannels} ({index.ClassName} reads only the latents)");
        return new FluxModelConfig
        {
            TransformerInChannels = inChannels,
            TransformerOutChannels = outChannels,
            GuidanceEmbeds = transformer.GetBool("guidance_embeds", false),
            Transformer = TransformerSize.Read(transformer),
            NumBlocks = transformer.GetInt("num_layers", 19) + transformer.GetInt("num_single_layers", 38),
            Vae = vae,
        };
    }
}
