using VisualGen.Checkpoints;
using VisualGen.Pipelines.Flux;

namespace VisualGen.Pipelines.Flux2;

/// <summary>
/// AutoencoderKLFlux2's config.json: an AutoencoderKL (same encoder, decoder and quant convs) plus the latent
/// batch-norm (<c>bn</c>: running statistics over the 2×2-patchified latent channels, eps <c>batch_norm_eps</c>) that
/// Flux2Pipeline uses in place of scaling_factor/shift_factor. Shared by the exporter (it traces the AutoencoderKL
/// graphs) and the runtime (patch size, batch-norm eps).
/// </summary>
public sealed record AutoencoderKLFlux2Config
{
    public required AutoencoderKLConfig Vae { get; init; }
    public required float BatchNormEps { get; init; }
    public required int[] PatchSize { get; init; }

    /// <summary>Channels of the patchified latents: latent_channels · patch_h · patch_w (the batch-norm's features).</summary>
    public int PatchedChannels => Vae.LatentChannels * PatchSize[0] * PatchSize[1];

    public static AutoencoderKLFlux2Config Read(string componentDir)
    {
        string path = Path.Combine(componentDir, "config.json");
        var config = ComponentConfig.FromFile(path);
        var vae = config.ToRecord<AutoencoderKLConfig>();
        vae.Validate(path);
        var file = config.ToRecord<Flux2VaeFields>();
        if (file.DecoderBlockOutChannels is int[] d && !d.SequenceEqual(vae.BlockOutChannels))
            throw new CheckpointException(path, $"decoder_block_out_channels [{string.Join(", ", d)}] differ from block_out_channels [{string.Join(", ", vae.BlockOutChannels)}]: not supported");
        if (file.PatchSize is not [2, 2])
            throw new CheckpointException(path, $"patch_size [{string.Join(", ", file.PatchSize)}] is not supported: Flux2Pipeline patchifies latents 2×2");
        if (!(file.BatchNormEps > 0))
            throw new CheckpointException(path, $"batch_norm_eps {file.BatchNormEps} must be positive");
        return new AutoencoderKLFlux2Config { Vae = vae, BatchNormEps = file.BatchNormEps, PatchSize = file.PatchSize };
    }

    sealed record Flux2VaeFields
    {
        public int[]? DecoderBlockOutChannels { get; init; }
        public float BatchNormEps { get; init; } = 1e-4f;
        public int[] PatchSize { get; init; } = [2, 2];
    }
}
