using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>FluxSingleTransformerBlock (single stream): over the concatenated text+image tokens, AdaLN-Zero-Single,
/// attention and an MLP in parallel, proj_out over their concatenation, gated residual.</summary>
public sealed class FluxSingleTransformerBlock
{
    readonly AdaLayerNormZeroSingle _norm;
    readonly Linear _projMlp, _projOut;
    readonly FluxAttention _attn;

    public FluxSingleTransformerBlock(Weights w, int dim, int heads, int headDim, float mlpRatio = 4.0f)
    {
        int mlpHiddenDim = (int)(dim * mlpRatio);
        _norm = new AdaLayerNormZeroSingle(w.Sub("norm"), dim);
        _projMlp = new Linear(w.Sub("proj_mlp"), dim, mlpHiddenDim);
        _projOut = new Linear(w.Sub("proj_out"), dim + mlpHiddenDim, dim);
        _attn = new FluxAttention(w.Sub("attn"), dim, heads, headDim, addedKvProj: false, preOnly: true, eps: 1e-6f);
    }

    /// <returns>(encoder_hidden_states, hidden_states) as diffusers returns them.</returns>
    public (Tensor Encoder, Tensor Hidden) Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor temb, (Tensor Cos, Tensor Sin) rope)
    {
        var textLen = encoderHiddenStates.Size(1);
        var x = Tensor.Concat(1, encoderHiddenStates, hiddenStates);
        var residual = x;
        var (normHidden, gate) = _norm.Forward(x, temb);
        var mlpHidden = _projMlp.Forward(normHidden).Gelu(tanhApproximation: true);
        var attnOutput = _attn.Forward(normHidden, rope);
        x = residual + gate * _projOut.Forward(Tensor.Concat(2, attnOutput, mlpHidden));
        return (x.Slice(1, 0L, textLen), x.Slice(1, textLen, long.MaxValue));
    }
}
