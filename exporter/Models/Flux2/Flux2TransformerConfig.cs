using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2Transformer2DModel's config.json (diffusers names and defaults: FLUX.2-dev's).</summary>
public sealed record Flux2TransformerConfig
{
    public int PatchSize { get; init; } = 1;
    public int InChannels { get; init; } = 128;
    public int? OutChannels { get; init; }
    public int NumLayers { get; init; } = 8;
    public int NumSingleLayers { get; init; } = 48;
    public int AttentionHeadDim { get; init; } = 128;
    public int NumAttentionHeads { get; init; } = 48;
    public int JointAttentionDim { get; init; } = 15360;
    public int TimestepGuidanceChannels { get; init; } = 256;
    public float MlpRatio { get; init; } = 3.0f;
    public int[] AxesDimsRope { get; init; } = [32, 32, 32, 32];
    public double RopeTheta { get; init; } = 2000;
    public float Eps { get; init; } = 1e-6f;
    public bool GuidanceEmbeds { get; init; } = true;

    public int InnerDim => NumAttentionHeads * AttentionHeadDim;
    public int OutChannelsOrIn => OutChannels ?? InChannels;
    /// <summary>The position-id axes (T, H, W, L for FLUX.2).</summary>
    public int Axes => AxesDimsRope.Length;

    public static Flux2TransformerConfig Read(string componentDir)
    {
        string path = Path.Combine(componentDir, "config.json");
        var c = ComponentConfig.FromFile(path).ToRecord<Flux2TransformerConfig>();
        if (c.AxesDimsRope.Sum() != c.AttentionHeadDim)
            throw new CheckpointException(path, $"axes_dims_rope [{string.Join(", ", c.AxesDimsRope)}] sum to {c.AxesDimsRope.Sum()}; attention_head_dim is {c.AttentionHeadDim}");
        if (c.AxesDimsRope.Any(d => d <= 0 || d % 2 != 0))
            throw new CheckpointException(path, $"axes_dims_rope [{string.Join(", ", c.AxesDimsRope)}] must be positive and even");
        if (c.PatchSize != 1)
            throw new CheckpointException(path, $"patch_size {c.PatchSize} is not supported (FLUX.2 patchifies in the pipeline: 1)");
        return c;
    }
}
