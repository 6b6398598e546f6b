using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' AdaLayerNormContinuous (norm_type "layer_norm"): scale, shift = linear(SiLU(conditioning))
/// (scale first), then LayerNorm(x)·(1 + scale) + shift, broadcast over the tokens.</summary>
public sealed class AdaLayerNormContinuous(Weights w, int embeddingDim, int conditioningEmbeddingDim, bool elementwiseAffine, float eps, bool bias = true)
{
    readonly Linear _linear = new(w.Sub("linear"), conditioningEmbeddingDim, embeddingDim * 2, bias);
    readonly LayerNorm _norm = new(w.Sub("norm"), embeddingDim, eps, elementwiseAffine, bias);

    /// <param name="x">[batch, tokens, dim]</param>
    /// <param name="conditioning">[batch, conditioning_dim]</param>
    public Tensor Forward(Tensor x, Tensor conditioning)
    {
        var emb = _linear.Forward(conditioning.Silu()).Chunk(2, 1);
        var (scale, shift) = (emb[0].Unsqueeze(1), emb[1].Unsqueeze(1));
        return _norm.Forward(x) * (1f + scale) + shift;
    }
}
