using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Qwen25VL;

/// <summary>Qwen2_5_VLAttention (text): q/k/v projections with bias, o_proj without, RoPE on q and k, grouped-query
/// attention (num_key_value_heads K/V heads shared by num_attention_heads / num_key_value_heads query heads each).</summary>
public sealed class Qwen25VLAttention
{
    readonly int _heads, _kvHeads, _headDim;
    readonly Linear _q, _k, _v, _o;

    public Qwen25VLAttention(Weights w, Qwen25VLTextConfig c)
    {
        _heads = c.NumAttentionHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim;
        _q = new Linear(w.Sub("q_proj"), c.HiddenSize, _heads * _headDim);
        _k = new Linear(w.Sub("k_proj"), c.HiddenSize, _kvHeads * _headDim);
        _v = new Linear(w.Sub("v_proj"), c.HiddenSize, _kvHeads * _headDim);
        _o = new Linear(w.Sub("o_proj"), _heads * _headDim, c.HiddenSize, bias: false);
    }

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor mask)
    {
        var q = Qwen25VLRotaryEmbedding.Apply(_q.Forward(x), rope.Cos, rope.Sin, _heads, _headDim);
        var k = Qwen25VLRotaryEmbedding.Apply(_k.Forward(x), rope.Cos, rope.Sin, _kvHeads, _headDim);
        var o = AttentionOp.Attention(q, k, _v.Forward(x), _heads, 1f / MathF.Sqrt(_headDim), mask, _kvHeads);
        return _o.Forward(o);
    }
}
