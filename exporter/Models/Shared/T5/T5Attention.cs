using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>T5Attention (encoder self-attention): q, k, v, o without bias and no 1/√d scaling of the scores; the
/// position bias (relative bias plus padding mask) is added to the scores as the additive attention mask.</summary>
public sealed class T5Attention
{
    readonly int _heads;
    readonly Linear _q, _k, _v, _o;

    public T5RelativePositionBias? RelativeAttentionBias { get; }

    public T5Attention(Weights w, T5Config c, bool hasRelativeAttentionBias)
    {
        _heads = c.NumHeads;
        _q = new Linear(w.Sub("q"), c.DModel, c.InnerDim, bias: false);
        _k = new Linear(w.Sub("k"), c.DModel, c.InnerDim, bias: false);
        _v = new Linear(w.Sub("v"), c.DModel, c.InnerDim, bias: false);
        _o = new Linear(w.Sub("o"), c.InnerDim, c.DModel, bias: false);
        if (hasRelativeAttentionBias)
            RelativeAttentionBias = new T5RelativePositionBias(w.Sub("relative_attention_bias"), c.RelativeAttentionNumBuckets,
                c.RelativeAttentionMaxDistance, c.NumHeads);
    }

    /// <param name="positionBias">[batch or 1, heads, seq, seq]: relative position bias plus the padding mask.</param>
    public Tensor Forward(Tensor x, Tensor positionBias) =>
        _o.Forward(AttentionOp.Attention(_q.Forward(x), _k.Forward(x), _v.Forward(x), _heads, scale: 1f, mask: positionBias));
}
