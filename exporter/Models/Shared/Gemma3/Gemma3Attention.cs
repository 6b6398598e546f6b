using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;
using VisualGen.Exporter.Models.Shared.Qwen25VL;

namespace VisualGen.Exporter.Models.Shared.Gemma3;

/// <summary>Gemma3Attention: q/k/v projections without bias, RMSNorm (1 + weight) per head on q and k, rotate-half
/// RoPE, grouped-query attention scaled by query_pre_attn_scalar^−½, o_proj.</summary>
public sealed class Gemma3Attention
{
    readonly int _heads, _kvHeads, _headDim;
    readonly float _scale;
    readonly Linear _q, _k, _v, _o;
    readonly Gemma3RmsNorm _qNorm, _kNorm;

    public Gemma3Attention(Weights w, Gemma3TextConfig c)
    {
        _heads = c.NumAttentionHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim;
        _scale = (float)(1 / Math.Sqrt(c.QueryPreAttnScalar));
        _q = new Linear(w.Sub("q_proj"), c.HiddenSize, _heads * _headDim, bias: false);
        _k = new Linear(w.Sub("k_proj"), c.HiddenSize, _kvHeads * _headDim, bias: false);
        _v = new Linear(w.Sub("v_proj"), c.HiddenSize, _kvHeads * _headDim, bias: false);
        _o = new Linear(w.Sub("o_proj"), _heads * _headDim, c.HiddenSize, bias: false);
        _qNorm = new Gemma3RmsNorm(w.Sub("q_norm"), _headDim, c.RmsNormEps);
        _kNorm = new Gemma3RmsNorm(w.Sub("k_norm"), _headDim, c.RmsNormEps);
    }

    Tensor PerHead(Tensor x, Gemma3RmsNorm norm, int heads) =>
        norm.Forward(x.Reshape(0, 0, heads, _headDim)).Reshape(0, 0, heads * _headDim);

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor mask)
    {
        var q = Qwen25VLRotaryEmbedding.Apply(PerHead(_q.Forward(x), _qNorm, _heads), rope.Cos, rope.Sin, _heads, _headDim);
        var k = Qwen25VLRotaryEmbedding.Apply(PerHead(_k.Forward(x), _kNorm, _kvHeads), rope.Cos, rope.Sin, _kvHeads, _headDim);
        var o = AttentionOp.Attention(q, k, _v.Forward(x), _heads, _scale, mask, _kvHeads);
        return _o.Forward(o);
    }
}
