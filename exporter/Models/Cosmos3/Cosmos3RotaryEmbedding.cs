using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Models.Cosmos3;

/// <summary>
/// Cosmos3VLTextRotaryEmbedding: interleaved 3-D mRoPE. Each of the head_dim/2 rotary frequencies θ^(−2j/head_dim)
/// reads one of the token's three positions (temporal, height, width): frequency j takes the height position when
/// j ≡ 1 (mod 3) and j &lt; 3·rope_axes_dim[1], the width position when j ≡ 2 (mod 3) and j &lt; 3·rope_axes_dim[2], the
/// temporal one otherwise (apply_interleaved_mrope). cos and sin of position·frequency, repeated over both halves
/// of the head (rotate-half convention).
/// </summary>
public sealed class Cosmos3RotaryEmbedding
{
    readonly float[] _invFreq;
    readonly long[] _axisOfFrequency;

    public Cosmos3RotaryEmbedding(int headDim, double theta, int[] axesDim)
    {
        int half = headDim / 2;
        // as torch computes it: 1 / theta ** (arange(0, head_dim, 2) / head_dim), in float32
        _invFreq = Enumerable.Range(0, half).Select(j => 1f / MathF.Pow((float)theta, (2f * j) / headDim)).ToArray();
        _axisOfFrequency = Enumerable.Range(0, half).Select(j =>
            j % 3 == 1 && j < axesDim[1] * 3 ? 1L : j % 3 == 2 && j < axesDim[2] * 3 ? 2L : 0L).ToArray();
    }

    /// <summary>Float32 positions [3, tokens] → (cos, sin), each [1, tokens, 1, head_dim] (broadcast over heads).</summary>
    public (Tensor Cos, Tensor Sin) Forward(Tensor positionIds)
    {
        var t = positionIds.Tracer;
        var positions = positionIds.Gather(t.Int64Vector(_axisOfFrequency), 0).Transpose(1, 0);   // [tokens, head_dim/2]
        var freqs = positions * t.Const(_invFreq, _invFreq.Length);
        var emb = Tensor.Concat(-1, freqs, freqs).Unsqueeze(0, 2);
        return (emb.Cos(), emb.Sin());
    }

    /// <summary>x·cos + rotate_half(x)·sin on [1, tokens, heads, head_dim].</summary>
    public static Tensor Apply(Tensor x, (Tensor Cos, Tensor Sin) rope)
    {
        var halves = x.Chunk(2, -1);
        var rotated = Tensor.Concat(-1, -halves[1], halves[0]);
        return x * rope.Cos + rotated * rope.Sin;
    }
}
