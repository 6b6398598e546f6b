namespace VisualGen.Tensors;

/// <summary>Splits an elementwise loop over a large tensor into contiguous ranges run in parallel (each element is
/// computed exactly as in the sequential loop, so results are identical). Small tensors run on the calling thread.</summary>
public static class ElementRanges
{
    const int MinPerRange = 1 << 16;

    public static void For(long length, Action<int, int> body)
    {
        if (length <= MinPerRange) { body(0, (int)length); return; }
        int ranges = (int)Math.Min(Environment.ProcessorCount * 2L, (length + MinPerRange - 1) / MinPerRange);
        long per = (length + ranges - 1) / ranges;
        Parallel.For(0, ranges, r => body((int)(r * per), (int)Math.Min(length, (r + 1) * per)));
    }
}
