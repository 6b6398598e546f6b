using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2TransformerBlock (double stream): each stream is LayerNorm'd (no affine) and modulated by the shared
/// image/text modulation sets, joint attention, gated residuals, then a modulated SwiGLU feed-forward per stream.</summary>
public sealed class Flux2TransformerBlock
{
    readonly int _dim;
    readonly float _eps;
    readonly Flux2Attention _attn;
    readonly Flux2FeedForward _ff, _ffContext;

    public Flux2TransformerBlock(Modules.Weights w, int dim, int heads, int headDim, float mlpRatio, float eps)
    {
        _dim = dim; _eps = eps;
        _attn = new Flux2Attention(w.Sub("attn"), dim, heads, headDim, eps);
        _ff = new Flux2FeedForward(w.Sub("ff"), dim, (int)(dim * mlpRatio));
        _ffContext = new Flux2FeedForward(w.Sub("ff_context"), dim, (int)(dim * mlpRatio));
    }

    /// <param name="modImg">the two image modulation sets (attention, MLP)</param>
    /// <param name="modTxt">the two text modulation sets</param>
    /// <returns>(encoder_hidden_states, hidden_states) as diffusers returns them.</returns>
    public (Tensor Encoder, Tensor Hidden) Forward(Tensor hiddenStates, Tensor encoderHiddenStates,
        Modulation[] modImg, Modulation[] modTxt, (Tensor Cos, Tensor Sin) rope)
    {
        var (msa, mlp) = (modImg[0], modImg[1]);
        var (cMsa, cMlp) = (modTxt[0], modTxt[1]);

        var normHidden = msa.Apply(Norm(hiddenStates));
        var normEncoder = cMsa.Apply(Norm(encoderHiddenStates));
        var (attnOutput, contextAttnOutput) = _attn.Forward(normHidden, normEncoder, rope);

        hiddenStates = hiddenStates + msa.Gate * attnOutput;
        hiddenStates = hiddenStates + mlp.Gate * _ff.Forward(mlp.Apply(Norm(hiddenStates)));

        encoderHiddenStates = encoderHiddenStates + cMsa.Gate * contextAttnOutput;
        encoderHiddenStates = encoderHiddenStates + cMlp.Gate * _ffContext.Forward(cMlp.Apply(Norm(encoderHiddenStates)));
        return (encoderHiddenStates, hiddenStates);
    }

    // norm1 / norm1_context / norm2 / norm2_context: LayerNorm without affine
    Tensor Norm(Tensor x) => x.LayerNorm(null, null, _eps, _dim);
}
