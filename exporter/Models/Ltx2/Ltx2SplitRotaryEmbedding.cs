using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Ltx2;

/// <summary>
/// diffusers' apply_split_rotary_emb: each head's channels split in two halves (x₁, x₂) rotated pairwise,
/// (x₁·cos − x₂·sin, x₂·cos + x₁·sin), with one frequency per head and pair. <c>cos</c> and <c>sin</c> are laid out
/// [batch or 1, tokens, heads, 1, head_dim/2] so they broadcast over x viewed as [batch, tokens, heads, 2, head_dim/2].
/// </summary>
public static class Ltx2SplitRotaryEmbedding
{
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, int heads, int headDim)
    {
        int r = headDim / 2;
        Dim b = x.Size(0), t = x.Size(1);
        var split = x.Reshape(b, t, heads, 2, r);
        var halves = split.Split(3, 1, 1);
        var rotated = Tensor.Concat(3, -halves[1], halves[0]);
        return (split * cos + rotated * sin).Reshape(b, t, heads * headDim);
    }
}
