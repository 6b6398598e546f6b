using VisualGen.Checkpoints;
using VisualGen.Pipelines.Wan;

namespace VisualGen.Pipelines.QwenImage;

/// <summary>What QwenImagePipeline reads from a checkpoint's configs: the packed channels of the transformer, the
/// VAE's (AutoencoderKLQwenImage, read as the Wan VAE config it is) latent channels and spatial scale (diffusers: vae_scale_factor = 2^len(temperal_downsample)).</summary>
public sealed record QwenImageModelConfig
{
    public required int PackedChannels { get; init; }
    public required int LatentChannels { get; init; }
    public required int VaeScaleFactor { get; init; }
    /// <summary>The VAE's config (latent normalization comes from it).</summary>
    public required WanVaeConfig Vae { get; init; }
    public required TransformerSize Transformer { get; init; }
    /// <summary>The transformer's blocks (num_layers): what Cache-DiT's Fn and Bn count.</summary>
    public int NumLayers { get; init; } = 60;

    /// <summary>Height and width must be multiples of this: the VAE scale times the 2×2 packing.</summary>
    public int SizeMultiple => VaeScaleFactor * 2;

    public static QwenImageModelConfig Load(ModelIndex index)
    {
        var transformer = index.LoadConfig("transformer");
        var vae = WanVaeConfig.Read(index.ComponentDirectory("vae"));
        int packed = transformer.GetInt("in_channels");
        int latent = vae.ZDim;
        if (packed != latent * 4)
            throw new CheckpointException(transformer.FilePath, $"in_channels {packed} must be 4 × the VAE's z_dim {latent} (2×2 packed latents)");
        return new QwenImageModelConfig
        {
            PackedChannels = packed, LatentChannels = latent, VaeScaleFactor = 1 << vae.TemperalDownsample.Length, Vae = vae,
            NumLayers = transformer.GetInt("num_layers", 60),
            Transformer = TransformerSize.Read(transformer),
        };
    }
}
