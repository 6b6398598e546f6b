using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' AdaLayerNormContinuous with norm_type "layer_norm": linear(SiLU(cond)) gives scale then shift
/// (in that order); x = LayerNorm(x) · (1 + scale) + shift.</summary>
public sealed class AdaLayerNormContinuous
{
    readonly Linear _linear;
    readonly LayerNorm _norm;

    public AdaLayerNormContinuous(Weights w, int embeddingDim, int conditioningEmbeddingDim, bool elementwiseAffine, float eps, bool bias = true)
    {
        _linear = new Linear(w.Sub("linear"), conditioningEmbeddingDim, embeddingDim * 2, bias);
        _norm = new LayerNorm(w.Sub("norm"), embeddingDim, eps, elementwiseAffine, bias);
    }

    /// <param name="x">[batch, tokens, dim]</param>
    /// <param name="conditioningEmbedding">[batch, conditioning_dim]</param>
    public Tensor Forward(Tensor x, Tensor conditioningEmbedding)
    {
        var m = _linear.Forward(conditioningEmbedding.Silu()).Unsqueeze(1).Chunk(2, -1);
        return _norm.Forward(x) * (1f + m[0]) + m[1];
    }
}
