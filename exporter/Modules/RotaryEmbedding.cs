using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>Rotary embedding on interleaved pairs: diffusers' apply_rotary_emb with use_real_unbind_dim = -1 (FLUX),
/// Wan's and Qwen-Image's complex rotation — consecutive pairs (x₂ᵢ, x₂ᵢ₊₁) of each head are rotated by one angle
/// each: (x₂ᵢ·cos − x₂ᵢ₊₁·sin, x₂ᵢ·sin + x₂ᵢ₊₁·cos).</summary>
public static class RotaryEmbedding
{
    /// <param name="x">[batch, tokens, heads·head_dim]</param>
    /// <param name="cos">cos of the angles, [tokens, head_dim/2] (one per pair; not repeat-interleaved)</param>
    /// <param name="sin">sin of the angles, [tokens, head_dim/2]</param>
    public static Tensor ApplyInterleaved(Tensor x, Tensor cos, Tensor sin, int heads, int headDim)
    {
        // the native CUDA engine fuses exactly this node sequence (with the preceding RMSNorm) into one kernel
        var parts = x.Reshape(0, 0, heads, headDim / 2, 2).Split(-1, 1, 1);
        var x1 = parts[0].Squeeze(-1);
        var x2 = parts[1].Squeeze(-1);
        var c = cos.Unsqueeze(1);
        var s = sin.Unsqueeze(1);
        var o1 = x1 * c - x2 * s;
        var o2 = x1 * s + x2 * c;
        return Tensor.Concat(-1, o1.Unsqueeze(-1), o2.Unsqueeze(-1)).Reshape(0, 0, heads * headDim);
    }
}
