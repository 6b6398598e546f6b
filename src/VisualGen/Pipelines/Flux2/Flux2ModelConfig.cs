using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Flux2;

/// <summary>What Flux2Pipeline reads from a checkpoint's configs: the transformer's patchified channels and whether
/// it embeds guidance, and the VAE (scale factor, batch-norm eps).</summary>
public sealed record Flux2ModelConfig
{
    public required int TransformerInChannels { get; init; }
    public required bool GuidanceEmbeds { get; init; }
    public required AutoencoderKLFlux2Config Vae { get; init; }
    /// <summary>The text encoder's max_position_embeddings: the longest prompt (max_sequence_length) it takes.</summary>
    public required int TextMaxPositions { get; init; }
    public required TransformerSize Transformer { get; init; }
    /// <summary>The transformer's blocks, double-stream then single-stream (num_layers + num_single_layers): what a
    /// Cache-DiT split counts.</summary>
    public required int NumBlocks { get; init; }

    /// <summary>num_channels_latents = in_channels // 4 (the transformer sees 2×2 patches).</summary>
    public int LatentChannels => TransformerInChannels / 4;
    public int VaeScaleFactor => Vae.Vae.ScaleFactor;
    /// <summary>Height and width must be multiples of vae_scale_factor · 2 (the 2×2 patchify).</summary>
    public int SizeMultiple => VaeScaleFactor * 2;

    public static Flux2ModelConfig Load(ModelIndex index)
    {
        var transformer = index.LoadConfig("transformer");
        int inChannels = transformer.GetInt("in_channels", 128);
        var vae = AutoencoderKLFlux2Config.Read(index.ComponentDirectory("vae"));
        if (inChannels != vae.PatchedChannels)
            throw new CheckpointException(transformer.FilePath,
                $"in_channels {inChannels} must be 4 × the VAE's latent_channels ({vae.Vae.LatentChannels}) for 2×2 patchified latents");
        var textEncoder = index.LoadConfig("text_encoder");
        var textConfig = textEncoder.GetOptionalObject("text_config") ?? textEncoder;
        return new Flux2ModelConfig
        {
            TextMaxPositions = textConfig.GetInt("max_position_embeddings", 131072),
            TransformerInChannels = inChannels,
            GuidanceEmbeds = transformer.GetBool("guidance_embeds", true),
            Vae = vae,
            Transformer = TransformerSize.Read(transformer, mlpRatio: (int)Math.Ceiling(transformer.GetDouble("mlp_ratio", 3.0))),
            NumBlocks = transformer.GetInt("num_layers", 8) + transformer.GetInt("num_single_layers", 48),
        };
    }
}
