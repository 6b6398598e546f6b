using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>
/// T5Attention.compute_bias for the encoder (bidirectional buckets): bias[h, i, j] =
/// relative_attention_bias[bucket(j - i), h], shaped [1, heads, q_len, kv_len].
/// A relative position at or beyond ±max_distance always lands in the last bucket of its direction, so the bucket of
/// every relative position is a lookup in a table over [-max_distance, max_distance] (computed here with the
/// reference's float32 arithmetic) after clamping: exact, and the sequence length stays dynamic.
/// </summary>
public sealed class T5RelativePositionBias
{
    readonly Tensor _bias;
    readonly int _maxDistance;
    readonly long[] _bucketTable;

    public T5RelativePositionBias(Weights w, int numBuckets, int maxDistance, int heads)
    {
        _bias = w.Get("weight", [numBuckets, heads]);
        _maxDistance = maxDistance;
        _bucketTable = Enumerable.Range(-maxDistance, 2 * maxDistance + 1).Select(r => Bucket(r, numBuckets, maxDistance)).ToArray();
    }

    /// <summary>_relative_position_bucket(relative_position, bidirectional=True): half the buckets per direction,
    /// exact buckets below max_exact, logarithmic ones up to max_distance (float32 log as the reference computes it).</summary>
    public static long Bucket(long relativePosition, int numBuckets, int maxDistance)
    {
        int half = numBuckets / 2;
        long bucket = relativePosition > 0 ? half : 0;
        long n = Math.Abs(relativePosition);
        int maxExact = half / 2;
        if (n < maxExact) return bucket + n;
        float logRatio = MathF.Log((float)n / maxExact) / (float)Math.Log((double)maxDistance / maxExact) * (half - maxExact);
        return bucket + Math.Min(maxExact + (long)logRatio, half - 1);
    }

    /// <summary>The bias for self-attention over <paramref name="seqLen"/> tokens: [1, heads, seq, seq].</summary>
    public Tensor Forward(Tracer t, Dim seqLen)
    {
        var pos = Tensor.Arange(t, seqLen);
        var relative = pos.Unsqueeze(0) - pos.Unsqueeze(1); // memory_position - query_position, [q, k]
        var clamped = relative.Max(t.Int64(-_maxDistance)).Min(t.Int64(_maxDistance)) + t.Int64(_maxDistance);
        var buckets = t.Int64Const(_bucketTable, _bucketTable.Length).Gather(clamped, 0);
        return _bias.Gather(buckets, 0).Transpose(2, 0, 1).Unsqueeze(0);
    }
}
