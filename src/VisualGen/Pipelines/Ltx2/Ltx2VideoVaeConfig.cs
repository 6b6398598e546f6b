using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>AutoencoderKLLTX2Video's config.json (diffusers names and defaults). Shared by the exporter
/// (architecture) and the runtime (compression factors).</summary>
public sealed record Ltx2VideoVaeConfig
{
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public int LatentChannels { get; init; } = 128;
    public int[] DecoderBlockOutChannels { get; init; } = [256, 512, 1024];
    public int[] DecoderLayersPerBlock { get; init; } = [5, 5, 5, 5];
    public bool[] DecoderSpatioTemporalScaling { get; init; } = [true, true, true];
    public bool[] DecoderInjectNoise { get; init; } = [false, false, false, false];
    public string[] UpsampleType { get; init; } = ["spatiotemporal", "spatiotemporal", "spatiotemporal"];
    public bool[] UpsampleResidual { get; init; } = [true, true, true];
    public int[] UpsampleFactor { get; init; } = [2, 2, 2];
    public bool TimestepConditioning { get; init; }
    public int PatchSize { get; init; } = 4;
    public int PatchSizeT { get; init; } = 1;
    public float ResnetNormEps { get; init; } = 1e-6f;
    public float ScalingFactor { get; init; } = 1f;
    public bool DecoderCausal { get; init; } = true;
    public string DecoderSpatialPaddingMode { get; init; } = "reflect";
    public int[] BlockOutChannels { get; init; } = [256, 512, 1024, 2048];
    public bool[] SpatioTemporalScaling { get; init; } = [true, true, true, true];
    public string[] DownsampleType { get; init; } = ["spatial", "temporal", "spatiotemporal", "spatiotemporal"];

    /// <summary>Spatial compression of the decoder: patch_size × 2 per spatial upsampler.</summary>
    public int SpatialCompression => PatchSize * DecoderStrides.Aggregate(1, (a, s) => a * s[1]);

    /// <summary>Temporal compression of the decoder: patch_size_t × 2 per temporal upsampler.</summary>
    public int TemporalCompression => PatchSizeT * DecoderStrides.Aggregate(1, (a, s) => a * s[0]);

    /// <summary>The (t, h, w) stride of each decoder up block's upsampler, in decoder order (null: no upsampler).</summary>
    public int[][] DecoderStrides => Enumerable.Range(0, DecoderBlockOutChannels.Length)
        .Where(i => DecoderSpatioTemporalScaling.Reverse().ElementAt(i))
        .Select(i => StrideOf(UpsampleType[i])).ToArray();

    public static int[] StrideOf(string upsampleType) => upsampleType switch
    {
        "spatial" => [1, 2, 2],
        "temporal" => [2, 1, 1],
        "spatiotemporal" => [2, 2, 2],
        _ => throw new ArgumentException($"upsample type '{upsampleType}' is not one of spatial, temporal, spatiotemporal"),
    };

    /// <summary>Reads and checks <c>config.json</c> of a video VAE component folder.</summary>
    public static Ltx2VideoVaeConfig Read(string componentDir) => From(ComponentConfig.FromFile(Path.Combine(componentDir, "config.json")));

    /// <summary>Checks a config already read: a folder's config.json or one mapped from a monolithic file's metadata.</summary>
    public static Ltx2VideoVaeConfig From(ComponentConfig config)
    {
        string path = config.FilePath;
        var c = config.ToRecord<Ltx2VideoVaeConfig>();
        if (c.TimestepConditioning) throw config.Unsupported("timestep_conditioning", "the timestep-conditioned LTX-2 decoder is not implemented");
        if (c.DecoderInjectNoise.Any(b => b)) throw config.Unsupported("decoder_inject_noise", "noise injection draws random noise inside the decoder; VisualGen implements only false");
        int blocks = c.DecoderBlockOutChannels.Length;
        if (c.DecoderLayersPerBlock.Length != blocks + 1)
            throw new CheckpointException(path, $"decoder_layers_per_block has {c.DecoderLayersPerBlock.Length} entries; decoder_block_out_channels has {blocks}, so {blocks + 1} were expected");
        if (c.DecoderSpatioTemporalScaling.Length != blocks || c.UpsampleResidual.Length != blocks || c.UpsampleFactor.Length != blocks || c.UpsampleType.Length < blocks)
            throw new CheckpointException(path, $"decoder_spatio_temporal_scaling, upsample_residual, upsample_factor and upsample_type need {blocks} entries (one per decoder block)");
        foreach (var t in c.UpsampleType.Take(blocks))
            if (t is not ("spatial" or "temporal" or "spatiotemporal")) throw config.Unsupported("upsample_type", "supported: spatial, temporal, spatiotemporal");
        if (c.DecoderSpatialPaddingMode is not ("zeros" or "reflect" or "replicate"))
            throw config.Unsupported("decoder_spatial_padding_mode", "supported: zeros, reflect, replicate");
        if (c.PatchSize < 1 || c.PatchSizeT < 1) throw new CheckpointException(path, "patch_size and patch_size_t must be at least 1");
        return c;
    }
}
