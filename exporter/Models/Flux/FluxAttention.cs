using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>
/// FluxAttention with FluxAttnProcessor: q/k/v projections with RMSNorm per head (norm_q/norm_k over head_dim);
/// in the double-stream blocks the text stream has its own projections (add_q/k/v_proj, norm_added_q/k), text tokens
/// go first in the joint sequence, and the output splits back into to_out (image) and to_add_out (text).
/// Single-stream blocks are pre_only: no output projection.
/// </summary>
public sealed class FluxAttention
{
    readonly int _heads, _headDim;
    readonly Linear _toQ, _toK, _toV;
    readonly RmsNorm _normQ, _normK;
    readonly Linear? _toOut;
    readonly Linear? _addQ, _addK, _addV, _toAddOut;
    readonly RmsNorm? _normAddedQ, _normAddedK;

    public FluxAttention(Weights w, int queryDim, int heads, int dimHead, bool addedKvProj, bool preOnly, float eps)
    {
        _heads = heads; _headDim = dimHead;
        int inner = heads * dimHead;
        _normQ = new RmsNorm(w.Sub("norm_q"), dimHead, eps);
        _normK = new RmsNorm(w.Sub("norm_k"), dimHead, eps);
        _toQ = new Linear(w.Sub("to_q"), queryDim, inner);
        _toK = new Linear(w.Sub("to_k"), queryDim, inner);
        _toV = new Linear(w.Sub("to_v"), queryDim, inner);
        if (!preOnly) _toOut = new Linear(w.Sub("to_out.0"), inner, queryDim);
        if (addedKvProj)
        {
            _normAddedQ = new RmsNorm(w.Sub("norm_added_q"), dimHead, eps);
            _normAddedK = new RmsNorm(w.Sub("norm_added_k"), dimHead, eps);
            _addQ = new Linear(w.Sub("add_q_proj"), queryDim, inner);
            _addK = new Linear(w.Sub("add_k_proj"), queryDim, inner);
            _addV = new Linear(w.Sub("add_v_proj"), queryDim, inner);
            _toAddOut = new Linear(w.Sub("to_add_out"), inner, queryDim);
        }
    }

    /// <summary>RMSNorm over each head's head_dim values of [batch, tokens, heads·head_dim].</summary>
    Tensor PerHead(RmsNorm norm, Tensor x) => norm.Forward(x.Reshape(0, 0, _heads, _headDim)).Reshape(0, 0, _heads * _headDim);

    /// <summary>Joint attention of the double-stream block: returns (image output, text output).</summary>
    public (Tensor Hidden, Tensor Encoder) Forward(Tensor hiddenStates, Tensor encoderHiddenStates, (Tensor Cos, Tensor Sin) rope)
    {
        if (_addQ is null) throw new InvalidOperationException("this FluxAttention has no added (text) projections");
        var q = PerHead(_normQ, _toQ.Forward(hiddenStates));
        var k = PerHead(_normK, _toK.Forward(hiddenStates));
        var v = _toV.Forward(hiddenStates);
        var eq = PerHead(_normAddedQ!, _addQ.Forward(encoderHiddenStates));
        var ek = PerHead(_normAddedK!, _addK!.Forward(encoderHiddenStates));
        var ev = _addV!.Forward(encoderHiddenStates);
        var o = Attend(Tensor.Concat(1, eq, q), Tensor.Concat(1, ek, k), Tensor.Concat(1, ev, v), rope);
        var textLen = encoderHiddenStates.Size(1);
        var textOut = o.Slice(1, 0L, textLen);
        var imageOut = o.Slice(1, textLen, long.MaxValue);
        return (_toOut!.Forward(imageOut), _toAddOut!.Forward(textOut));
    }

    /// <summary>Self-attention of the single-stream block over the joint sequence (no output projection).</summary>
    public Tensor Forward(Tensor hiddenStates, (Tensor Cos, Tensor Sin) rope)
    {
        var q = PerHead(_normQ, _toQ.Forward(hiddenStates));
        var k = PerHead(_normK, _toK.Forward(hiddenStates));
        var v = _toV.Forward(hiddenStates);
        var o = Attend(q, k, v, rope);
        return _toOut is null ? o : _toOut.Forward(o);
    }

    Tensor Attend(Tensor q, Tensor k, Tensor v, (Tensor Cos, Tensor Sin) rope)
    {
        q = RotaryEmbedding.ApplyInterleaved(q, rope.Cos, rope.Sin, _heads, _headDim);
        k = RotaryEmbedding.ApplyInterleaved(k, rope.Cos, rope.Sin, _heads, _headDim);
        return AttentionOp.Attention(q, k, v, _heads);
    }
}
