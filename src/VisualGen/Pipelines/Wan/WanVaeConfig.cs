using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Wan;

/// <summary>AutoencoderKLWan's config.json (diffusers names). Shared by the exporter (architecture) and the
/// runtime (latent statistics, compression factors).</summary>
public sealed record WanVaeConfig
{
    public int BaseDim { get; init; } = 96;
    public int? DecoderBaseDim { get; init; }
    public int ZDim { get; init; } = 16;
    public int[] DimMult { get; init; } = [1, 2, 4, 4];
    public int NumResBlocks { get; init; } = 2;
    public float[] AttnScales { get; init; } = [];
    public bool[] TemperalDownsample { get; init; } = [false, true, true];
    public float Dropout { get; init; }
    public float[] LatentsMean { get; init; } = [];
    public float[] LatentsStd { get; init; } = [];
    public bool IsResidual { get; init; }
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public int? PatchSize { get; init; }
    /// <summary>AutoencoderKLQwenImage's single name for in_channels and out_channels (otherwise the Wan 2.1 VAE).</summary>
    public int? InputChannels { get; init; }
    public int? ScaleFactorTemporal { get; init; } = 4;
    public int? ScaleFactorSpatial { get; init; } = 8;

    public int DecoderDim => DecoderBaseDim ?? BaseDim;

    /// <summary>diffusers' temperal_upsample: the encoder's temporal downsampling flags reversed.</summary>
    public bool[] TemperalUpsample => TemperalDownsample.Reverse().ToArray();

    /// <summary>Reads and checks <c>config.json</c> of a VAE component folder.</summary>
    public static WanVaeConfig Read(string componentDir)
    {
        string path = Path.Combine(componentDir, "config.json");
        var c = ComponentConfig.FromFile(path).ToRecord<WanVaeConfig>();
        if (c.InputChannels is int channels) c = c with { InChannels = channels, OutChannels = channels };
        c.Validate(path);
        return c;
    }

    public void Validate(string origin)
    {
        if (DimMult.Length < 1) throw new CheckpointException(origin, "dim_mult is empty");
        if (TemperalDownsample.Length != DimMult.Length - 1)
            throw new CheckpointException(origin, $"temperal_downsample has {TemperalDownsample.Length} entries; dim_mult has {DimMult.Length}, so {DimMult.Length - 1} were expected");
        if (AttnScales.Length > 0)
            throw new CheckpointException(origin, "attn_scales is not empty: diffusers' WanEncoder3d cannot run attention blocks inside down_blocks (they take no feature cache), so such a checkpoint is not supported");
        if (LatentsMean.Length != ZDim || LatentsStd.Length != ZDim)
            throw new CheckpointException(origin, $"latents_mean has {LatentsMean.Length} and latents_std {LatentsStd.Length} entries; z_dim is {ZDim}");
        if (PatchSize is int p && p < 1) throw new CheckpointException(origin, $"patch_size {p} must be at least 1");
        // the pipelines divide sizes by the compression factors and latents by the std: a zero or negative one was a crash
        if (ScaleFactorSpatial is int spatial && spatial < 1) throw new CheckpointException(origin, $"scale_factor_spatial {spatial} must be at least 1");
        if (ScaleFactorTemporal is int temporal && temporal < 1) throw new CheckpointException(origin, $"scale_factor_temporal {temporal} must be at least 1");
        if (Array.IndexOf(LatentsStd, 0f) is var zero and >= 0)
            throw new CheckpointException(origin, $"latents_std is 0 for channel {zero}: latents are divided by it");
    }
}
