using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// Flux2Attention with Flux2AttnProcessor (the double-stream blocks): bias-free q/k/v projections of the image stream
/// and add_q/k/v_proj of the text stream, RMSNorm per head on queries and keys (norm_q/norm_k, norm_added_q/k), text
/// tokens first in the joint sequence, RoPE over both, one attention, and the output split back into to_out.0 (image)
/// and to_add_out (text).
/// </summary>
public sealed class Flux2Attention
{
    readonly int _heads, _headDim;
    readonly Linear _toQ, _toK, _toV, _toOut, _addQ, _addK, _addV, _toAddOut;
    readonly RmsNorm _normQ, _normK, _normAddedQ, _normAddedK;

    public Flux2Attention(Weights w, int dim, int heads, int headDim, float eps)
    {
        _heads = heads; _headDim = headDim;
        int inner = heads * headDim;
        _toQ = new Linear(w.Sub("to_q"), dim, inner, bias: false);
        _toK = new Linear(w.Sub("to_k"), dim, inner, bias: false);
        _toV = new Linear(w.Sub("to_v"), dim, inner, bias: false);
        _normQ = new RmsNorm(w.Sub("norm_q"), headDim, eps);
        _normK = new RmsNorm(w.Sub("norm_k"), headDim, eps);
        _toOut = new Linear(w.Sub("to_out.0"), inner, dim, bias: false);
        _normAddedQ = new RmsNorm(w.Sub("norm_added_q"), headDim, eps);
        _normAddedK = new RmsNorm(w.Sub("norm_added_k"), headDim, eps);
        _addQ = new Linear(w.Sub("add_q_proj"), dim, inner, bias: false);
        _addK = new Linear(w.Sub("add_k_proj"), dim, inner, bias: false);
        _addV = new Linear(w.Sub("add_v_proj"), dim, inner, bias: false);
        _toAddOut = new Linear(w.Sub("to_add_out"), inner, dim, bias: false);
    }

    /// <returns>(image output, text output).</returns>
    public (Tensor Hidden, Tensor Encoder) Forward(Tensor hiddenStates, Tensor encoderHiddenStates, (Tensor Cos, Tensor Sin) rope)
    {
        var q = Flux2Rope.PerHead(_normQ, _toQ.Forward(hiddenStates), _heads, _headDim);
        var k = Flux2Rope.PerHead(_normK, _toK.Forward(hiddenStates), _heads, _headDim);
        var v = _toV.Forward(hiddenStates);
        var eq = Flux2Rope.PerHead(_normAddedQ, _addQ.Forward(encoderHiddenStates), _heads, _headDim);
        var ek = Flux2Rope.PerHead(_normAddedK, _addK.Forward(encoderHiddenStates), _heads, _headDim);
        var ev = _addV.Forward(encoderHiddenStates);
        var o = Flux2Rope.Attend(Tensor.Concat(1, eq, q), Tensor.Concat(1, ek, k), Tensor.Concat(1, ev, v), rope, _heads, _headDim);
        var textLen = encoderHiddenStates.Size(1);
        return (_toOut.Forward(o.Slice(1, textLen, long.MaxValue)), _toAddOut.Forward(o.Slice(1, 0L, textLen)));
    }
}
