using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Shared.Qwen25VL;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Mistral;

/// <summary>MistralAttention: bias-free q/k/v/o projections, rotate-half RoPE on q and k, grouped-query attention
/// (num_key_value_heads K/V heads shared by the query heads), scale head_dim^-0.5.</summary>
public sealed class MistralAttention
{
    readonly int _heads, _kvHeads, _headDim;
    readonly Linear _q, _k, _v, _o;

    public MistralAttention(Weights w, MistralTextConfig c)
    {
        _heads = c.NumAttentionHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.AttentionHeadDim;
        _q = new Linear(w.Sub("q_proj"), c.HiddenSize, _heads * _headDim, bias: false);
        _k = new Linear(w.Sub("k_proj"), c.HiddenSize, _kvHeads * _headDim, bias: false);
        _v = new Linear(w.Sub("v_proj"), c.HiddenSize, _kvHeads * _headDim, bias: false);
        _o = new Linear(w.Sub("o_proj"), _heads * _headDim, c.HiddenSize, bias: false);
    }

    public Tensor Forward(Tensor x, (Tensor Cos, Tensor Sin) rope, Tensor mask)
    {
        // the rotate-half RoPE of Llama-style decoders (Qwen2.5-VL's text RoPE is the same for one position stream)
        var q = Qwen25VLRotaryEmbedding.Apply(_q.Forward(x), rope.Cos, rope.Sin, _heads, _headDim);
        var k = Qwen25VLRotaryEmbedding.Apply(_k.Forward(x), rope.Cos, rope.Sin, _kvHeads, _headDim);
        var o = AttentionOp.Attention(q, k, _v.Forward(x), _heads, 1f / MathF.Sqrt(_headDim), mask, _kvHeads);
        return _o.Forward(o);
    }
}
