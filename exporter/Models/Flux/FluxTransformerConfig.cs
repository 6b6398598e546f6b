using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>FluxTransformer2DModel's config.json (diffusers names and defaults).</summary>
public sealed record FluxTransformerConfig
{
    public int PatchSize { get; init; } = 1;
    public int InChannels { get; init; } = 64;
    public int? OutChannels { get; init; }
    public int NumLayers { get; init; } = 19;
    public int NumSingleLayers { get; init; } = 38;
    public int AttentionHeadDim { get; init; } = 128;
    public int NumAttentionHeads { get; init; } = 24;
    public int JointAttentionDim { get; init; } = 4096;
    public int PooledProjectionDim { get; init; } = 768;
    public bool GuidanceEmbeds { get; init; }
    public int[] AxesDimsRope { get; init; } = [16, 56, 56];

    public int InnerDim => NumAttentionHeads * AttentionHeadDim;
    public int OutChannelsOrIn => OutChannels ?? InChannels;

    public static FluxTransformerConfig Read(string componentDir)
    {
        string path = Path.Combine(componentDir, "config.json");
        var c = ComponentConfig.FromFile(path).ToRecord<FluxTransformerConfig>();
        if (c.AxesDimsRope.Sum() != c.AttentionHeadDim)
            throw new CheckpointException(path, $"axes_dims_rope [{string.Join(", ", c.AxesDimsRope)}] sum to {c.AxesDimsRope.Sum()}; attention_head_dim is {c.AttentionHeadDim}");
        if (c.AxesDimsRope.Any(d => d <= 0 || d % 2 != 0))
            throw new CheckpointException(path, $"axes_dims_rope [{string.Join(", ", c.AxesDimsRope)}] must be positive and even");
        return c;
    }
}
