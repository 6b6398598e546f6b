using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Shared.Qwen25VL;

/// <summary>
/// Qwen2_5_VLRotaryEmbedding for text: multimodal RoPE gives each of the mrope_section chunks of the rotary half the
/// temporal, height or width position, and for text all three equal the token position, so it is the standard
/// rotate-half RoPE over one position per token: inv_freq = theta^(-2i/head_dim), cos/sin of position·inv_freq
/// repeated over both halves of the head.
/// </summary>
public sealed class Qwen25VLRotaryEmbedding(int headDim, double theta)
{
    readonly float[] _invFreq = Enumerable.Range(0, headDim / 2).Select(i => (float)(1.0 / Math.Pow(theta, 2.0 * i / headDim))).ToArray();

    /// <summary>cos and sin for int64 positions [batch, seq]: [batch, seq, 1, head_dim] (broadcast over heads).</summary>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds)
    {
        var t = positionIds.Tracer;
        var freqs = positionIds.Cast(TensorDType.F32).Unsqueeze(-1) * t.Const(_invFreq, _invFreq.Length);
        var emb = Tensor.Concat(-1, freqs, freqs).Unsqueeze(2);
        return (emb.Cos(), emb.Sin());
    }

    /// <summary>x·cos + rotate_half(x)·sin on [batch, seq, heads·head_dim] (returned in the same layout).</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin, int heads, int headDim)
    {
        var h = x.Reshape(0, 0, heads, headDim);
        var halves = h.Chunk(2, -1);
        var rotated = Tensor.Concat(-1, -halves[1], halves[0]);
        return (h * cos + rotated * sin).Reshape(0, 0, heads * headDim);
    }
}
