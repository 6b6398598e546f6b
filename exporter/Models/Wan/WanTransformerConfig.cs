namespace VisualGen.Exporter.Models.Wan;

/// <summary>WanTransformer3DModel's config.json (diffusers names).</summary>
public sealed record WanTransformerConfig
{
    public int[] PatchSize { get; init; } = [1, 2, 2];
    public int NumAttentionHeads { get; init; } = 40;
    public int AttentionHeadDim { get; init; } = 128;
    public int InChannels { get; init; } = 16;
    public int? OutChannels { get; init; } = 16;
    public int TextDim { get; init; } = 4096;
    public int FreqDim { get; init; } = 256;
    public int FfnDim { get; init; } = 13824;
    public int NumLayers { get; init; } = 40;
    public bool CrossAttnNorm { get; init; } = true;
    public string? QkNorm { get; init; } = "rms_norm_across_heads";
    public float Eps { get; init; } = 1e-6f;
    public int? ImageDim { get; init; }
    public int? AddedKvProjDim { get; init; }
    public int RopeMaxSeqLen { get; init; } = 1024;
    public int? PosEmbedSeqLen { get; init; }

    public int InnerDim => NumAttentionHeads * AttentionHeadDim;
    public int OutChannelsOrIn => OutChannels ?? InChannels;
}
