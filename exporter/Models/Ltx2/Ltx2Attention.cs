using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2;

/// <summary>
/// diffusers' LTX2Attention with LTX2AudioVideoAttnProcessor: q/k/v projections, RMSNorm across heads on q and k,
/// split RoPE on q and k (the key may take its own frequencies, for audio↔video attention), scaled dot-product
/// attention with an optional additive mask, optional per-head gates (2·sigmoid), out projection.
/// </summary>
public sealed class Ltx2Attention
{
    /// <summary>RoPE frequencies for <see cref="Ltx2SplitRotaryEmbedding"/>. <c>Heads</c>: how many groups the
    /// channels are split into for the rotation when it is not the attention's head count (diffusers takes it from
    /// the frequencies' layout; the transformer's video cross-modal RoPE uses the video head count).</summary>
    public sealed record Rope(Tensor Cos, Tensor Sin, int? Heads = null);

    readonly Linear _toQ, _toK, _toV, _toOut;
    readonly Linear? _toGateLogits;
    readonly RmsNorm _normQ, _normK;
    readonly int _heads, _headDim;

    public Ltx2Attention(Weights w, int queryDim, int heads, int headDim, int? crossAttentionDim = null, bool bias = true,
        bool outBias = true, float normEps = 1e-6f, bool gated = false)
    {
        _heads = heads;
        _headDim = headDim;
        int inner = heads * headDim, context = crossAttentionDim ?? queryDim;
        _normQ = new RmsNorm(w.Sub("norm_q"), inner, normEps);
        _normK = new RmsNorm(w.Sub("norm_k"), inner, normEps);
        _toQ = new Linear(w.Sub("to_q"), queryDim, inner, bias);
        _toK = new Linear(w.Sub("to_k"), context, inner, bias);
        _toV = new Linear(w.Sub("to_v"), context, inner, bias);
        _toOut = new Linear(w.Sub("to_out.0"), inner, queryDim, outBias);
        if (gated) _toGateLogits = new Linear(w.Sub("to_gate_logits"), queryDim, heads);
    }

    /// <param name="valueOnly">LTX2PerturbedAttnProcessor with every batch element perturbed (spatio-temporal
    /// guidance): the attention is skipped and the value projection stands for its output (gates and out projection
    /// still apply)</param>
    public Tensor Forward(Tensor hiddenStates, Tensor? encoderHiddenStates = null, Tensor? mask = null, Rope? queryRope = null, Rope? keyRope = null,
        bool valueOnly = false)
    {
        var context = encoderHiddenStates ?? hiddenStates;
        var v = _toV.Forward(context);
        if (valueOnly) return _toOut.Forward(Gate(v, hiddenStates));
        var q = _normQ.Forward(_toQ.Forward(hiddenStates));
        var k = _normK.Forward(_toK.Forward(context));
        if (queryRope is not null)
        {
            var kr = keyRope ?? queryRope;
            int inner = _heads * _headDim, qh = queryRope.Heads ?? _heads, kh = kr.Heads ?? _heads;
            q = Ltx2SplitRotaryEmbedding.Apply(q, queryRope.Cos, queryRope.Sin, qh, inner / qh);
            k = Ltx2SplitRotaryEmbedding.Apply(k, kr.Cos, kr.Sin, kh, inner / kh);
        }
        // ONNX Runtime's Attention does not broadcast the mask over queries: [B, 1, 1, kv] → [B, 1, q, kv]
        mask = mask?.Expand(1, 1, q.Size(1), 1);
        var o = AttentionOp.Attention(q, k, v, _heads, 1f / MathF.Sqrt(_headDim), mask);
        return _toOut.Forward(Gate(o, hiddenStates));
    }

    /// <summary>Per-head gates 2·sigmoid(to_gate_logits(hidden states)) when the attention has them.</summary>
    Tensor Gate(Tensor o, Tensor hiddenStates)
    {
        if (_toGateLogits is null) return o;
        Dim b = o.Size(0), t = o.Size(1);
        var gates = _toGateLogits.Forward(hiddenStates).Sigmoid() * 2f;
        return (o.Reshape(b, t, _heads, _headDim) * gates.Unsqueeze(3)).Reshape(b, t, _heads * _headDim);
    }
}
