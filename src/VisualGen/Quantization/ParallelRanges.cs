namespace VisualGen.Quantization;

/// <summary>The quantizers' loops over elements or blocks, whose iterations are independent, in contiguous ranges on
/// the thread pool (a whole transformer is quantized when its graph is written: 1.4 billion weights for Wan 1.3B).
/// Each range writes only its own elements, so the result does not depend on the schedule.</summary>
static class ParallelRanges
{
    /// <summary>Runs <paramref name="body"/>(start, end) over [0, <paramref name="count"/>) in ranges of
    /// <paramref name="grain"/> items.</summary>
    public static void For(int count, int grain, Action<int, int> body)
    {
        int ranges = (count + grain - 1) / grain;
        if (ranges <= 1)
        {
            if (count > 0) body(0, count);
            return;
        }
        try { Parallel.For(0, ranges, r => body(r * grain, Math.Min(count, (r + 1) * grain))); }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // a range's own exception (a QuantizationException naming the tensor), as the sequential loop threw it
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }

    /// <summary><see cref="AbsMax.Of"/> of a large array, range by range (NaN, where there is one, wins as it does there).</summary>
    public static float AbsMax(float[] values, int grain = 1 << 16) =>
        Reduce(values.Length, grain, (s, e) => Quantization.AbsMax.Of(values.AsSpan(s, e - s)), MathF.Max, 0f);

    /// <summary>Each range's <paramref name="range"/>(start, end), on the thread pool, combined in range order (so the
    /// result does not depend on the schedule), starting from <paramref name="empty"/>.</summary>
    public static T Reduce<T>(int count, int grain, Func<int, int, T> range, Func<T, T, T> combine, T empty)
    {
        var partial = new T[Math.Max(1, (count + grain - 1) / grain)];
        Array.Fill(partial, empty);
        For(count, grain, (s, e) => partial[s / grain] = range(s, e));
        T result = empty;
        foreach (T p in partial) result = combine(result, p);
        return result;
    }
}
