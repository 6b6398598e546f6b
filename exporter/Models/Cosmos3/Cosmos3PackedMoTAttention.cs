using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>
/// Cosmos3PackedMoTAttention with Cosmos3AttnProcessor: two pathways with their own projections. Understanding (text)
/// tokens go through to_q/to_k/to_v, per-head norm_q/norm_k, RoPE, and causal grouped-query self-attention, then to_out.
/// Generation (vision) tokens go through add_q_proj/add_k_proj/add_v_proj, norm_added_q/norm_added_k, RoPE, and attend
/// without a mask to the keys and values of both pathways [text, vision], then to_add_out.
/// </summary>
public sealed class Cosmos3PackedMoTAttention
{
    readonly int _heads, _kvHeads, _headDim;
    readonly Linear _toQ, _toK, _toV, _toOut, _addQ, _addK, _addV, _toAddOut;
    readonly RmsNorm? _normQ, _normK, _kNormUndForGen;
    readonly RmsNorm _normAddedQ, _normAddedK;

    public Cosmos3PackedMoTAttention(Weights w, Cosmos3TransformerConfig c)
    {
        _heads = c.NumAttentionHeads; _kvHeads = c.NumKeyValueHeads; _headDim = c.HeadDim;
        int dim = c.HiddenSize, q = _heads * _headDim, kv = _kvHeads * _headDim;
        bool bias = c.AttentionBias;
        _toQ = new Linear(w.Sub("to_q"), dim, q, bias);
        _toK = new Linear(w.Sub("to_k"), dim, kv, bias);
        _toV = new Linear(w.Sub("to_v"), dim, kv, bias);
        _toOut = new Linear(w.Sub("to_out"), q, dim, bias);
        if (c.QkNormForText)
        {
            _normQ = new RmsNorm(w.Sub("norm_q"), _headDim, c.RmsNormEps);
            _normK = new RmsNorm(w.Sub("norm_k"), _headDim, c.RmsNormEps);
        }
        else if (c.UseUndKNormForGen) _kNormUndForGen = new RmsNorm(w.Sub("k_norm_und_for_gen"), _headDim, c.RmsNormEps);
        _addQ = new Linear(w.Sub("add_q_proj"), dim, q, bias);
        _addK = new Linear(w.Sub("add_k_proj"), dim, kv, bias);
        _addV = new Linear(w.Sub("add_v_proj"), dim, kv, bias);
        _toAddOut = new Linear(w.Sub("to_add_out"), q, dim, bias);
        _normAddedQ = new RmsNorm(w.Sub("norm_added_q"), _headDim, c.RmsNormEps);
        _normAddedK = new RmsNorm(w.Sub("norm_added_k"), _headDim, c.RmsNormEps);
    }

    /// <param name="und">understanding tokens [1, text, hidden]</param>
    /// <param name="gen">generation tokens [1, vision, hidden]</param>
    /// <param name="causalMask">additive causal mask over the understanding tokens</param>
    public (Tensor Und, Tensor Gen) Forward(Tensor und, Tensor gen, (Tensor Cos, Tensor Sin) undRope, (Tensor Cos, Tensor Sin) genRope, Tensor causalMask)
    {
        var qUnd = Heads(_toQ.Forward(und), _heads);
        var kUnd = Heads(_toK.Forward(und), _kvHeads);
        var vUnd = _toV.Forward(und);
        var qGen = Heads(_addQ.Forward(gen), _heads);
        var kGen = Heads(_addK.Forward(gen), _kvHeads);
        var vGen = _addV.Forward(gen);

        if (_normQ is not null) qUnd = _normQ.Forward(qUnd);
        if (_normK is not null) kUnd = _normK.Forward(kUnd);
        var kUndForGen = _kNormUndForGen?.Forward(kUnd) ?? kUnd;
        qGen = _normAddedQ.Forward(qGen);
        kGen = _normAddedK.Forward(kGen);

        qUnd = Flat(Cosmos3RotaryEmbedding.Apply(qUnd, undRope));
        kUnd = Flat(Cosmos3RotaryEmbedding.Apply(kUnd, undRope));
        kUndForGen = Flat(Cosmos3RotaryEmbedding.Apply(kUndForGen, undRope));
        qGen = Flat(Cosmos3RotaryEmbedding.Apply(qGen, genRope));
        kGen = Flat(Cosmos3RotaryEmbedding.Apply(kGen, genRope));

        float scale = 1f / MathF.Sqrt(_headDim);
        var causal = AttentionOp.Attention(qUnd, kUnd, vUnd, _heads, scale, causalMask, _kvHeads);
        var full = AttentionOp.Attention(qGen, Tensor.Concat(1, kUndForGen, kGen), Tensor.Concat(1, vUnd, vGen), _heads, scale, null, _kvHeads);
        return (_toOut.Forward(causal), _toAddOut.Forward(full));
    }

    Tensor Heads(Tensor x, int heads) => x.Reshape(0, 0, heads, _headDim);

    static Tensor Flat(Tensor x) => x.Reshape(0, 0, -1);
}
