using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' AdaLayerNormZeroSingle: linear(SiLU(emb)) gives shift, scale and gate; x is normalized
/// (LayerNorm, no affine, eps 1e-6) and modulated.</summary>
public sealed class AdaLayerNormZeroSingle(Weights w, int embeddingDim)
{
    readonly Linear _linear = new(w.Sub("linear"), embeddingDim, 3 * embeddingDim);

    /// <param name="x">[batch, tokens, dim]</param>
    /// <param name="emb">[batch, dim]</param>
    /// <returns>the modulated x and gate [batch, 1, dim].</returns>
    public (Tensor X, Tensor Gate) Forward(Tensor x, Tensor emb)
    {
        var m = _linear.Forward(emb.Silu()).Unsqueeze(1).Chunk(3, -1);
        var normed = x.LayerNorm(null, null, 1e-6f, embeddingDim) * (1f + m[1]) + m[0];
        return (normed, m[2]);
    }
}
