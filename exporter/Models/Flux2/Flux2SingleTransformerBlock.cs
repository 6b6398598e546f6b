using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2SingleTransformerBlock (single stream, over the concatenated text+image tokens): LayerNorm (no
/// affine) modulated by the shared single-stream set, the parallel attention + SwiGLU block, gated residual.</summary>
public sealed class Flux2SingleTransformerBlock(Modules.Weights w, int dim, int heads, int headDim, float mlpRatio, float eps)
{
    readonly Flux2ParallelSelfAttention _attn = new(w.Sub("attn"), dim, heads, headDim, mlpRatio, eps);

    public Tensor Forward(Tensor hiddenStates, Modulation mod, (Tensor Cos, Tensor Sin) rope)
    {
        var norm = mod.Apply(hiddenStates.LayerNorm(null, null, eps, dim));
        return hiddenStates + mod.Gate * _attn.Forward(norm, rope);
    }
}
