namespace VisualGen.Quantization;

/// <summary>Sage attention's INT8 scale granularity: <see cref="Query"/> query tokens of one head share one scale of Q,
/// <see cref="Key"/> key tokens of one kv head share one scale of smoothed K (TensorRT-LLM's
/// <c>quant_attention_config</c> <c>q_block_size</c> / <c>k_block_size</c>). The default, 16 × 64, is SageAttention2's
/// per-warp Q and per-block K; coarser groups run the same main kernel (the pre-pass repeats a group's scale into the
/// finer slots the kernel reads) and follow outliers less closely. On the command line: <c>--attention sage:QxK</c>.</summary>
public readonly record struct SageScaleBlocks
{
    public static readonly IReadOnlyList<int> QueryChoices = [16, 32, 64, 128];
    public static readonly IReadOnlyList<int> KeyChoices = [64, 128];
    public static readonly SageScaleBlocks Default = new(16, 64);  // after the choices it is checked against

    /// <summary>Throws <see cref="ArgumentException"/> naming the value and the choices when a size is not one of them.</summary>
    public SageScaleBlocks(int query, int key)
    {
        if (!QueryChoices.Contains(query))
            throw new ArgumentException($"Sage attention's query block size (tokens per Q scale) must be one of {string.Join(", ", QueryChoices)}; got {query}");
        if (!KeyChoices.Contains(key))
            throw new ArgumentException($"Sage attention's key block size (tokens per K scale) must be one of {string.Join(", ", KeyChoices)}; got {key}");
        Query = query;
        Key = key;
    }

    public int Query { get; }
    public int Key { get; }

    /// <summary>"QxK", as <see cref="Parse"/> reads it.</summary>
    public override string ToString() => $"{Query}x{Key}";

    /// <summary>"QxK" (e.g. "32x128"); <see cref="ArgumentException"/> saying what is wrong otherwise.</summary>
    public static SageScaleBlocks Parse(string text)
    {
        var parts = text.Split('x');
        if (parts.Length != 2 || !int.TryParse(parts[0], out int q) || !int.TryParse(parts[1], out int k))
            throw new ArgumentException($"Sage scale blocks are written QxK (query tokens x key tokens per INT8 scale, e.g. 16x64); got '{text}'");
        return new SageScaleBlocks(q, k);
    }
}
