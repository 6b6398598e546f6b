using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan;

/// <summary>WanTransformerBlock: AdaLN-modulated self-attention with RoPE, cross-attention to the text (and image)
/// tokens, and a modulated, gated feed-forward. Modulation comes from scale_shift_table + the timestep projection.</summary>
public sealed class WanTransformerBlock
{
    readonly int _dim;
    readonly float _eps;
    readonly WanAttention _attn1, _attn2;
    readonly LayerNorm? _norm2;
    readonly FeedForward _ffn;
    readonly Tensor _scaleShiftTable;

    public WanTransformerBlock(Weights w, WanTransformerConfig c)
    {
        _dim = c.InnerDim; _eps = c.Eps;
        _attn1 = new WanAttention(w.Sub("attn1"), _dim, c.NumAttentionHeads, _dim / c.NumAttentionHeads, c.Eps, c.QkNorm, null);
        _attn2 = new WanAttention(w.Sub("attn2"), _dim, c.NumAttentionHeads, _dim / c.NumAttentionHeads, c.Eps, c.QkNorm, c.AddedKvProjDim);
        _norm2 = c.CrossAttnNorm ? new LayerNorm(w.Sub("norm2"), _dim, c.Eps, elementwiseAffine: true) : null;
        _ffn = new FeedForward(w.Sub("ffn"), _dim, c.FfnDim, _dim, tanhGelu: true);
        _scaleShiftTable = w.Get("scale_shift_table", [1, 6, _dim]);
    }

    /// <summary>The block's six modulation vectors (shift, scale, gate of the self-attention, then of the feed-forward)
    /// from scale_shift_table + the timestep projection.</summary>
    /// <param name="timestepProj">[batch, 6, dim], or [batch, tokens, 6, dim] with per-token timesteps.</param>
    public Tensor[] Modulation(Tensor timestepProj, bool perTokenTimesteps) => perTokenTimesteps
        ? (_scaleShiftTable.Unsqueeze(0) + timestepProj).Chunk(6, 2).Select(m => m.Squeeze(2)).ToArray()
        : (_scaleShiftTable + timestepProj).Chunk(6, 1);

    /// <param name="mod">This block's <see cref="Modulation"/>.</param>
    public Tensor Forward(Tensor x, Tensor context, Tensor[] mod, (Tensor Cos, Tensor Sin) rope, Dim? imageTokens)
    {
        var (shiftMsa, scaleMsa, gateMsa, cShiftMsa, cScaleMsa, cGateMsa) = (mod[0], mod[1], mod[2], mod[3], mod[4], mod[5]);

        var norm = Norm(x) * (1f + scaleMsa) + shiftMsa;
        x = x + _attn1.Forward(norm, null, rope) * gateMsa;

        norm = _norm2 is null ? x : _norm2.Forward(x);
        x = x + _attn2.Forward(norm, context, null, imageTokens);

        norm = Norm(x) * (1f + cScaleMsa) + cShiftMsa;
        return x + _ffn.Forward(norm) * cGateMsa;
    }

    Tensor Norm(Tensor x) => x.LayerNorm(null, null, _eps, _dim);
}
