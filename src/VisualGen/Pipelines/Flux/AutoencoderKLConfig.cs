using VisualGen.Tensors;
using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Flux;

/// <summary>AutoencoderKL's config.json (diffusers names and defaults). Shared by the exporter (architecture) and the
/// runtime (scaling_factor / shift_factor, the spatial compression 2^(blocks − 1)).</summary>
public sealed record AutoencoderKLConfig
{
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public string[] DownBlockTypes { get; init; } = ["DownEncoderBlock2D"];
    public string[] UpBlockTypes { get; init; } = ["UpDecoderBlock2D"];
    public int[] BlockOutChannels { get; init; } = [64];
    public int LayersPerBlock { get; init; } = 1;
    public string ActFn { get; init; } = "silu";
    public int LatentChannels { get; init; } = 4;
    public int NormNumGroups { get; init; } = 32;
    public float ScalingFactor { get; init; } = 0.18215f;
    public float? ShiftFactor { get; init; }

    /// <summary>Encoder latents to the pipeline's: (x − shift_factor)·scaling_factor.</summary>
    public HostTensor ToLatents(HostTensor raw)
    {
        float shift = ShiftFactor ?? 0f, scale = ScalingFactor;
        return HostTensor.Float32(raw.Floats.Select(x => (x - shift) * scale).ToArray(), raw.Shape);
    }

    /// <summary>The pipeline's latents back to the decoder's: x / scaling_factor + shift_factor.</summary>
    public HostTensor FromLatents(HostTensor latents)
    {
        float shift = ShiftFactor ?? 0f, scale = ScalingFactor;
        return HostTensor.Float32(latents.Floats.Select(x => x / scale + shift).ToArray(), latents.Shape);
    }
    public bool UseQuantConv { get; init; } = true;
    public bool UsePostQuantConv { get; init; } = true;
    public bool MidBlockAddAttention { get; init; } = true;
    /// <summary>sample_size: the side of a decoded tile when tiling (tile_sample_min_size).</summary>
    public int SampleSize { get; init; } = 32;

    /// <summary>The pipelines' vae_scale_factor: 2^(len(block_out_channels) − 1).</summary>
    public int ScaleFactor => 1 << (BlockOutChannels.Length - 1);

    /// <summary>Reads and checks <c>config.json</c> of a VAE component folder.</summary>
    public static AutoencoderKLConfig Read(string componentDir)
    {
        string path = Path.Combine(componentDir, "config.json");
        var c = ComponentConfig.FromFile(path).ToRecord<AutoencoderKLConfig>();
        c.Validate(path);
        return c;
    }

    public void Validate(string origin)
    {
        if (BlockOutChannels.Length == 0) throw new CheckpointException(origin, "block_out_channels is empty");
        if (DownBlockTypes.Length != BlockOutChannels.Length || UpBlockTypes.Length != BlockOutChannels.Length)
            throw new CheckpointException(origin, $"down_block_types ({DownBlockTypes.Length}) and up_block_types ({UpBlockTypes.Length}) must have one entry per block_out_channels ({BlockOutChannels.Length})");
        if (DownBlockTypes.FirstOrDefault(t => t != "DownEncoderBlock2D") is string d)
            throw new CheckpointException(origin, $"down block type '{d}' is not supported (DownEncoderBlock2D)");
        if (UpBlockTypes.FirstOrDefault(t => t != "UpDecoderBlock2D") is string u)
            throw new CheckpointException(origin, $"up block type '{u}' is not supported (UpDecoderBlock2D)");
        if (NormNumGroups < 1) throw new CheckpointException(origin, $"norm_num_groups {NormNumGroups} must be at least 1 (the GroupNorms' group count)");
        if (BlockOutChannels.FirstOrDefault(ch => ch % NormNumGroups != 0) is int bad and > 0)
            throw new CheckpointException(origin, $"block_out_channels entry {bad} is not divisible by norm_num_groups {NormNumGroups}");
        if (ScalingFactor == 0) throw new CheckpointException(origin, "scaling_factor is 0");
    }
}
