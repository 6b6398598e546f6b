namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>QwenImageTransformer2DModel's config.json (diffusers names).</summary>
public sealed record QwenImageTransformerConfig
{
    public int PatchSize { get; init; } = 2;
    public int InChannels { get; init; } = 64;
    public int? OutChannels { get; init; } = 16;
    public int NumLayers { get; init; } = 60;
    public int AttentionHeadDim { get; init; } = 128;
    public int NumAttentionHeads { get; init; } = 24;
    public int JointAttentionDim { get; init; } = 3584;
    public bool GuidanceEmbeds { get; init; }
    public int[] AxesDimsRope { get; init; } = [16, 56, 56];
    public bool ZeroCondT { get; init; }
    public bool UseAdditionalTCond { get; init; }
    public bool UseLayer3dRope { get; init; }

    public int InnerDim => NumAttentionHeads * AttentionHeadDim;
    public int OutChannelsOrIn => OutChannels ?? InChannels;

    /// <summary>Rejects configurations this definition does not trace (the Qwen-Image-Edit/Layered variants), naming the key.</summary>
    public void Validate(string origin)
    {
        void Unsupported(string key) => throw new Checkpoints.CheckpointException(origin, $"{key} = true is not supported (Qwen-Image text-to-image uses false)");
        if (GuidanceEmbeds) Unsupported("guidance_embeds");
        if (ZeroCondT) Unsupported("zero_cond_t");
        if (UseAdditionalTCond) Unsupported("use_additional_t_cond");
        if (UseLayer3dRope) Unsupported("use_layer3d_rope");
        if (AxesDimsRope.Length != 3 || AxesDimsRope.Any(d => d <= 0 || d % 2 != 0) || AxesDimsRope.Sum() != AttentionHeadDim)
            throw new Checkpoints.CheckpointException(origin,
                $"axes_dims_rope [{string.Join(", ", AxesDimsRope)}] must be three positive even sizes summing to attention_head_dim {AttentionHeadDim}");
    }
}
