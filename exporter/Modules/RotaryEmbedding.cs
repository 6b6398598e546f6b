using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' apply_rotary_emb with use_real and use_real_unbind_dim = -1 (FLUX, HunyuanDiT, CogVideoX):
/// consecutive pairs (x₂ᵢ, x₂ᵢ₊₁) of each head are rotated by one angle each.</summary>
public static class RotaryEmbedding
{
    /// <param name="x">[batch, tokens, heads·head_dim]</param>
    /// <param name="cos">cos of the angles, [tokens, head_dim/2] (one per pair; not repeat-interleaved)</param>
    /// <param name="sin">sin of the angles, [tokens, head_dim/2]</param>
    public static Tensor ApplyInterleaved(Tensor x, Tensor cos, Tensor sin, int heads, int headDim)
    {
        var pairs = x.Reshape(0, 0, heads, headDim / 2, 2).Split(-1, 1, 1);
        var real = pairs[0].Squeeze(-1);
        var imag = pairs[1].Squeeze(-1);
        var c = cos.Unsqueeze(1);
        var s = sin.Unsqueeze(1);
        // x·cos + rotate(x)·sin with rotate(x) = (−imag, real), as diffusers computes it
        var outReal = real * c + (-imag) * s;
        var outImag = imag * c + real * s;
        return Tensor.Concat(-1, outReal.Unsqueeze(-1), outImag.Unsqueeze(-1)).Reshape(0, 0, heads * headDim);
    }
}
