namespace VisualGen.Engines;

/// <summary>One term of <see cref="ITensorArithmetic.Combine"/>: <see cref="Coefficient"/> times the elements of
/// <see cref="Source"/> from <see cref="Offset"/> on.</summary>
public readonly record struct LinearTerm(double Coefficient, IEngineTensor Source, long Offset = 0);

/// <summary>
/// Elementwise and row-wise float32 arithmetic where an engine computes: what the denoising loop needs to keep latents,
/// guidance and scheduler state there (the native CUDA engine: device kernels; ONNX Runtime CPU: host loops). Coefficients come from
/// the host with each call, so nothing is read back.
/// </summary>
public interface ITensorArithmetic
{
    /// <summary>At most this many terms per <see cref="Combine"/>.</summary>
    public const int MaxTerms = 8;

    /// <summary>A new float32 tensor where the engine computes; its contents are undefined until written.</summary>
    IEngineTensor Allocate(long[] shape);

    /// <summary>
    /// destination[destinationOffset + i] = Σ coefficient·source[offset + i] for 0 ≤ i &lt; <paramref name="count"/>, accumulated
    /// in float64 and stored as float32. The destination may be one of the sources over the same range. Complete when
    /// this returns.
    /// </summary>
    void Combine(IEngineTensor destination, long destinationOffset, long count, ReadOnlySpan<LinearTerm> terms);

    /// <summary>
    /// Rescales each row of <paramref name="source"/> to the L2 norm of the same row of <paramref name="reference"/>:
    /// destination[r, i] = source[r, i] · (‖reference[r]‖ / ‖source[r]‖), rows of <paramref name="rowLength"/> consecutive
    /// elements over the whole tensors (equal element counts). Each norm is accumulated in float64 and rounded to float32,
    /// the ratio and the product are float32 (torch's float32 <c>x * (norm(ref) / norm(x))</c>); a zero row of the
    /// source gives non-finite values, as torch does. The destination may be the source or the reference. Complete when
    /// this returns.
    /// </summary>
    void RescaleRowNorms(IEngineTensor destination, IEngineTensor source, IEngineTensor reference, long rowLength);

    /// <summary>
    /// Σ|current − previous| and Σ|previous| over two float32 tensors of equal element count, in float64 (Cache-DiT's
    /// relative L1 between residuals is their ratio). The only call that reads a result back: two numbers.
    /// </summary>
    (double Difference, double Reference) L1Distance(IEngineTensor current, IEngineTensor previous);
}

/// <summary>Argument checks shared by the implementations of <see cref="ITensorArithmetic.Combine"/>.</summary>
public static class TensorArithmetic
{
    public static void CheckCombine(IEngineTensor destination, long destinationOffset, long count, ReadOnlySpan<LinearTerm> terms)
    {
        if (terms.Length is < 1 or > ITensorArithmetic.MaxTerms)
            throw new EngineException($"a linear combination takes 1..{ITensorArithmetic.MaxTerms} terms, got {terms.Length}");
        if (count < 1) throw new EngineException($"a linear combination needs a positive element count, got {count}");
        CheckRange("destination", destination, destinationOffset, count);
        for (int k = 0; k < terms.Length; k++) CheckRange($"term {k}", terms[k].Source, terms[k].Offset, count);
    }

    /// <summary>Checks <see cref="ITensorArithmetic.L1Distance"/>'s arguments; returns the element count.</summary>
    public static long CheckL1Distance(IEngineTensor current, IEngineTensor previous)
    {
        long n = current.Shape.Aggregate(1L, (a, b) => a * b), m = previous.Shape.Aggregate(1L, (a, b) => a * b);
        if (current.DType != Checkpoints.TensorDType.F32 || previous.DType != Checkpoints.TensorDType.F32)
            throw new EngineException($"L1 distance: tensors must be float32, got {current.DType} and {previous.DType}");
        if (n != m || n < 1) throw new EngineException($"L1 distance: {n} and {m} elements (equal, positive counts needed)");
        return n;
    }

    /// <summary>Checks <see cref="ITensorArithmetic.RescaleRowNorms"/>'s arguments; returns the row count.</summary>
    public static long CheckRescaleRowNorms(IEngineTensor destination, IEngineTensor source, IEngineTensor reference, long rowLength)
    {
        long n = source.Shape.Aggregate(1L, (a, b) => a * b);
        if (rowLength < 1 || n % rowLength != 0)
            throw new EngineException($"row norm rescale: the source's {n} elements are not whole rows of {rowLength}");
        foreach (var (what, t) in new[] { ("destination", destination), ("source", source), ("reference", reference) })
        {
            if (t.DType != Checkpoints.TensorDType.F32) throw new EngineException($"row norm rescale: {what} is {t.DType}, not float32");
            long m = t.Shape.Aggregate(1L, (a, b) => a * b);
            if (m != n) throw new EngineException($"row norm rescale: {what} has {m} elements, the source {n}");
        }
        return n / rowLength;
    }

    static void CheckRange(string what, IEngineTensor t, long offset, long count)
    {
        if (t.DType != Checkpoints.TensorDType.F32) throw new EngineException($"linear combination: {what} is {t.DType}, not float32");
        long n = t.Shape.Aggregate(1L, (a, b) => a * b);
        if (offset < 0 || offset + count > n)
            throw new EngineException($"linear combination: {what} has {n} elements; elements {offset}..{offset + count - 1} are out of range");
    }

    /// <summary>Copies <paramref name="count"/> elements of <paramref name="source"/> from <paramref name="sourceOffset"/> into
    /// <paramref name="destination"/> at <paramref name="destinationOffset"/>.</summary>
    public static void Copy(this ITensorArithmetic math, IEngineTensor destination, long destinationOffset, IEngineTensor source,
        long sourceOffset, long count) =>
        math.Combine(destination, destinationOffset, count, [new LinearTerm(1, source, sourceOffset)]);

    /// <summary>The tensor in <paramref name="slot"/>, (re)allocated where the arithmetic computes when it is missing or of
    /// another shape: a buffer kept across steps (a step cache's residuals).</summary>
    public static IEngineTensor Reuse(this ITensorArithmetic math, ref IEngineTensor? slot, long[] shape)
    {
        if (slot is not null && slot.Shape.SequenceEqual(shape)) return slot;
        slot?.Dispose();
        return slot = math.Allocate(shape);
    }

    /// <summary>A new tensor with the elements of <paramref name="source"/>.</summary>
    public static IEngineTensor Clone(this ITensorArithmetic math, IEngineTensor source)
    {
        var t = math.Allocate(source.Shape);
        math.Copy(t, 0, source, 0, source.Shape.Aggregate(1L, (a, b) => a * b));
        return t;
    }
}
