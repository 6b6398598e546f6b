namespace VisualGen.Demo;

/// <summary>
/// The sizes of a random Wan 2.1 text-to-video checkpoint that <see cref="DemoModel.WriteCustom"/> writes; the defaults
/// are the built-in demo model's. What the architectures require (checked by <see cref="Validate"/>):
/// <list type="bullet">
/// <item>the transformer's <c>text_dim</c> is the UMT5 encoder's <c>d_model</c> (its text embedder takes the encoder's
/// output), so one number, <see cref="TextDim"/>, sets both;</item>
/// <item><see cref="AttentionHeadDim"/> is even: Wan's 3D RoPE splits each head into time, height and width parts of
/// 2·(head_dim / 6), 2·(head_dim / 6) and the rest, each rotated in pairs (head_dim ≥ 6 so that no part is empty);</item>
/// <item>AutoencoderKLWan normalizes with an RMS norm over channels (no groups) and its mid blocks run single-head
/// attention over all channels, so any <see cref="VaeBaseDim"/> ≥ 1 works with dim_mult [1, 2, 2, 2] (the upsamplers
/// halve 2·base_dim). z_dim stays 16: the transformer's in/out channels.</item>
/// </list>
/// UMT5's inner width (<see cref="TextHeads"/> · <see cref="TextHeadDim"/>) may differ from d_model, as in T5.
/// </summary>
public sealed record DemoModelSizes
{
    /// <summary>Transformer: num_attention_heads.</summary>
    public int Heads { get; init; } = 2;
    /// <summary>Transformer: attention_head_dim (even, ≥ 6).</summary>
    public int AttentionHeadDim { get; init; } = 16;
    /// <summary>Transformer: ffn_dim.</summary>
    public int FfnDim { get; init; } = 64;
    /// <summary>Transformer: num_layers.</summary>
    public int NumLayers { get; init; } = 2;
    /// <summary>Transformer text_dim and UMT5 d_model.</summary>
    public int TextDim { get; init; } = 32;
    /// <summary>UMT5: num_heads.</summary>
    public int TextHeads { get; init; } = 4;
    /// <summary>UMT5: d_kv.</summary>
    public int TextHeadDim { get; init; } = 8;
    /// <summary>UMT5: d_ff.</summary>
    public int TextFfnDim { get; init; } = 64;
    /// <summary>UMT5: num_layers.</summary>
    public int TextLayers { get; init; } = 2;
    /// <summary>AutoencoderKLWan: base_dim.</summary>
    public int VaeBaseDim { get; init; } = 8;

    /// <summary>The built-in demo model's sizes.</summary>
    public static DemoModelSizes Default { get; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> naming the first size the architectures cannot take.</summary>
    public void Validate()
    {
        foreach (var (name, value) in new[]
        {
            ("heads", Heads), ("attention_head_dim", AttentionHeadDim), ("ffn_dim", FfnDim), ("num_layers", NumLayers), ("text_dim", TextDim),
            ("text num_heads", TextHeads), ("text d_kv", TextHeadDim), ("text d_ff", TextFfnDim), ("text num_layers", TextLayers), ("vae base_dim", VaeBaseDim),
        })
            if (value < 1) throw new ArgumentException($"demo model sizes: {name} must be at least 1, got {value}");
        if (AttentionHeadDim < 6 || AttentionHeadDim % 2 != 0)
            throw new ArgumentException($"demo model sizes: attention_head_dim must be even and at least 6 (Wan's RoPE rotates pairs in three parts), got {AttentionHeadDim}");
    }

    internal DemoWanTransformer Transformer() => new()
    {
        NumAttentionHeads = Heads, AttentionHeadDim = AttentionHeadDim, FfnDim = FfnDim, NumLayers = NumLayers, TextDim = TextDim,
    };

    internal DemoUmt5Encoder TextEncoder(int vocabSize) => new()
    {
        VocabSize = vocabSize, DModel = TextDim, NumHeads = TextHeads, DKv = TextHeadDim, DFf = TextFfnDim, NumLayers = TextLayers,
    };

    internal DemoWanVae Vae() => new() { BaseDim = VaeBaseDim };
}
