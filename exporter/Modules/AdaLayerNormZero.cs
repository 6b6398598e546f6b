using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' AdaLayerNormZero (adaLN-Zero) with an external embedding: linear(SiLU(emb)) gives six
/// modulations; x is normalized (LayerNorm, no affine, eps 1e-6) and modulated with the first shift/scale.</summary>
public sealed class AdaLayerNormZero(Weights w, int embeddingDim)
{
    readonly Linear _linear = new(w.Sub("linear"), embeddingDim, 6 * embeddingDim);

    /// <param name="x">[batch, tokens, dim]</param>
    /// <param name="emb">[batch, dim]</param>
    /// <returns>the modulated x and gate_msa, shift_mlp, scale_mlp, gate_mlp, each [batch, 1, dim] (ready to broadcast over tokens).</returns>
    public (Tensor X, Tensor GateMsa, Tensor ShiftMlp, Tensor ScaleMlp, Tensor GateMlp) Forward(Tensor x, Tensor emb)
    {
        var m = _linear.Forward(emb.Silu()).Unsqueeze(1).Chunk(6, -1);
        var (shiftMsa, scaleMsa, gateMsa, shiftMlp, scaleMlp, gateMlp) = (m[0], m[1], m[2], m[3], m[4], m[5]);
        var normed = x.LayerNorm(null, null, 1e-6f, embeddingDim) * (1f + scaleMsa) + shiftMsa;
        return (normed, gateMsa, shiftMlp, scaleMlp, gateMlp);
    }
}
