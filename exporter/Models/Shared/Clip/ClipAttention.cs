using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Clip;

/// <summary>CLIPAttention: q/k/v/out projections with bias, scores scaled by head_dim^-0.5.</summary>
public sealed class ClipAttention
{
    readonly int _heads;
    readonly float _scale;
    readonly Linear _q, _k, _v, _out;

    public ClipAttention(Weights w, int hidden, int heads)
    {
        _heads = heads;
        _scale = 1f / MathF.Sqrt(hidden / heads);
        _q = new Linear(w.Sub("q_proj"), hidden, hidden);
        _k = new Linear(w.Sub("k_proj"), hidden, hidden);
        _v = new Linear(w.Sub("v_proj"), hidden, hidden);
        _out = new Linear(w.Sub("out_proj"), hidden, hidden);
    }

    /// <param name="causal">the text model's causal attention (the <c>is_causal</c> attribute; the vision model has none).</param>
    public Tensor Forward(Tensor x, Tensor? mask, bool causal = false) =>
        _out.Forward(AttentionOp.Attention(_q.Forward(x), _k.Forward(x), _v.Forward(x), _heads, _scale, mask, causal: causal));
}
