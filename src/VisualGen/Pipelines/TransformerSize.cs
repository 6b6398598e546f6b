using VisualGen.Checkpoints;

namespace VisualGen.Pipelines;

/// <summary>The widths of a DiT read from its config.json (diffusers names), for <see cref="GenerationCost"/>:
/// attention heads, the attention width (heads × head dim) and the widest activation (the feed-forward's).</summary>
public sealed record TransformerSize(int Heads, int InnerDim, int WidestDim)
{
    /// <param name="ffnKey">the config key of the feed-forward width (Wan's "ffn_dim"); null: <paramref name="mlpRatio"/> × the attention width.</param>
    public static TransformerSize Read(ComponentConfig config, string? ffnKey = null, int mlpRatio = 4)
    {
        int heads = config.GetInt("num_attention_heads"), inner = heads * config.GetInt("attention_head_dim");
        int ffn = ffnKey is null ? mlpRatio * inner : config.GetInt(ffnKey);
        return new TransformerSize(heads, inner, Math.Max(ffn, 3 * inner));
    }
}
