namespace VisualGen.Parallelism;

/// <summary>
/// Attention over the keys in blocks, merged as ring attention merges the blocks it receives from its neighbours: each
/// partial result is, per (query, head), the output normalized over its block of keys and the log-sum-exp of that
/// block's scaled scores. Merging two partials weighs each by its share of the total softmax mass, so merging every
/// block's partial in any order gives attention over all keys (the host reference of the device merge).
/// </summary>
public static class OnlineSoftmax
{
    /// <summary>Merges partial B into partial A in place. <paramref name="outA"/> / <paramref name="outB"/>: [rows, d]
    /// (rows = queries × heads), <paramref name="lseA"/> / <paramref name="lseB"/>: [rows]. A row of A with
    /// lse = −∞ (no keys yet) takes B's row as it is.</summary>
    public static void Merge(float[] outA, float[] lseA, ReadOnlySpan<float> outB, ReadOnlySpan<float> lseB, int d)
    {
        if (d <= 0) throw new ArgumentOutOfRangeException(nameof(d), d, "head size must be positive");
        int rows = lseA.Length;
        if (lseB.Length != rows || outA.Length != rows * d || outB.Length != rows * d)
            throw new ArgumentException($"partials of different shapes: A [{rows}, {d}] with {outA.Length} values, B {lseB.Length} rows with {outB.Length} values");
        for (int r = 0; r < rows; r++)
        {
            double a = lseA[r], b = lseB[r];
            if (double.IsNegativeInfinity(b)) continue;
            if (double.IsNegativeInfinity(a))
            {
                outB.Slice(r * d, d).CopyTo(outA.AsSpan(r * d, d));
                lseA[r] = lseB[r];
                continue;
            }
            double m = Math.Max(a, b), wa = Math.Exp(a - m), wb = Math.Exp(b - m), total = wa + wb;
            for (int i = 0; i < d; i++)
                outA[r * d + i] = (float)((outA[r * d + i] * wa + outB[r * d + i] * wb) / total);
            lseA[r] = (float)(m + Math.Log(total));
        }
    }
}
