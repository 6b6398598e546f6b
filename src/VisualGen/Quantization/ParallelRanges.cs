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
    public static float AbsMax(float[] values, int grain = 1 << 16)
    {
        var partial = new float[Math.Max(1, (values.Length + grain - 1) / grain)];
        For(values.Length, grain, (s, e) => partial[s / grain] = Quantization.AbsMax.Of(values.AsSpan(s, e - s)));
        float amax = 0;
        foreach (float p in partial) amax = MathF.Max(amax, p);
        return amax;
    }
}
