using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux;

/// <summary>FluxTransformerBlock (double stream): AdaLN-Zero on the image and the text stream, joint attention, and
/// per-stream gated, modulated feed-forwards (GELU tanh).</summary>
public sealed class FluxTransformerBlock
{
    readonly int _dim;
    readonly AdaLayerNormZero _norm1, _norm1Context;
    readonly FluxAttention _attn;
    readonly FeedForward _ff, _ffContext;

    public FluxTransformerBlock(Weights w, int dim, int heads, int headDim, float eps = 1e-6f)
    {
        _dim = dim;
        _norm1 = new AdaLayerNormZero(w.Sub("norm1"), dim);
        _norm1Context = new AdaLayerNormZero(w.Sub("norm1_context"), dim);
        _attn = new FluxAttention(w.Sub("attn"), dim, heads, headDim, addedKvProj: true, preOnly: false, eps);
        _ff = new FeedForward(w.Sub("ff"), dim, 4 * dim, dim, tanhGelu: true);
        _ffContext = new FeedForward(w.Sub("ff_context"), dim, 4 * dim, dim, tanhGelu: true);
    }

    /// <returns>(encoder_hidden_states, hidden_states) as diffusers returns them.</returns>
    public (Tensor Encoder, Tensor Hidden) Forward(Tensor hiddenStates, Tensor encoderHiddenStates, Tensor temb, (Tensor Cos, Tensor Sin) rope)
    {
        var (normHidden, gateMsa, shiftMlp, scaleMlp, gateMlp) = _norm1.Forward(hiddenStates, temb);
        var (normEncoder, cGateMsa, cShiftMlp, cScaleMlp, cGateMlp) = _norm1Context.Forward(encoderHiddenStates, temb);

        var (attnOutput, contextAttnOutput) = _attn.Forward(normHidden, normEncoder, rope);

        hiddenStates = hiddenStates + gateMsa * attnOutput;
        normHidden = Norm2(hiddenStates) * (1f + scaleMlp) + shiftMlp;
        hiddenStates = hiddenStates + gateMlp * _ff.Forward(normHidden);

        encoderHiddenStates = encoderHiddenStates + cGateMsa * contextAttnOutput;
        normEncoder = Norm2(encoderHiddenStates) * (1f + cScaleMlp) + cShiftMlp;
        encoderHiddenStates = encoderHiddenStates + cGateMlp * _ffContext.Forward(normEncoder);
        return (encoderHiddenStates, hiddenStates);
    }

    // norm2 / norm2_context: LayerNorm without affine, eps 1e-6
    Tensor Norm2(Tensor x) => x.LayerNorm(null, null, 1e-6f, _dim);
}
