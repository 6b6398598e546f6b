using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary><see cref="ITensorArithmetic"/> in host memory, over <see cref="HostResidentTensor"/>s: what engines computing on the
/// host (ONNX Runtime CPU) do between their calls. Parallel over element (or row) ranges; float64 accumulation.</summary>
public sealed class HostArithmetic : ITensorArithmetic
{
    public static HostArithmetic Instance { get; } = new();

    public IEngineTensor Allocate(long[] shape) =>
        new HostResidentTensor(HostTensor.Float32(new float[shape.Aggregate(1L, (a, b) => a * b)], shape));

    public void Combine(IEngineTensor destination, long destinationOffset, long count, ReadOnlySpan<LinearTerm> terms)
    {
        TensorArithmetic.CheckCombine(destination, destinationOffset, count, terms);
        if (count > int.MaxValue) throw new EngineException($"host linear combination of {count} elements: at most {int.MaxValue}");
        var dst = Floats(destination, "destination");
        var sources = new float[terms.Length][];
        var offsets = new long[terms.Length];
        var coefs = new double[terms.Length];
        for (int k = 0; k < terms.Length; k++)
        {
            sources[k] = Floats(terms[k].Source, $"term {k}");
            offsets[k] = terms[k].Offset;
            coefs[k] = terms[k].Coefficient;
        }
        ElementRanges.For((int)count, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                double v = 0;
                for (int k = 0; k < sources.Length; k++) v += coefs[k] * sources[k][offsets[k] + i];
                dst[destinationOffset + i] = (float)v;
            }
        });
    }

    public void RescaleRowNorms(IEngineTensor destination, IEngineTensor source, IEngineTensor reference, long rowLength)
    {
        long rows = TensorArithmetic.CheckRescaleRowNorms(destination, source, reference, rowLength);
        if (rows * rowLength > int.MaxValue) throw new EngineException($"host row norm rescale of {rows * rowLength} elements: at most {int.MaxValue}");
        RescaleRowNorms(Floats(destination, "destination"), Floats(source, "source"), Floats(reference, "reference"), (int)rowLength);
    }

    public (double Difference, double Reference) L1Distance(IEngineTensor current, IEngineTensor previous)
    {
        TensorArithmetic.CheckL1Distance(current, previous);
        return L1Distance(Floats(current, "current"), Floats(previous, "previous"));
    }

    /// <summary>Σ|current − previous| and Σ|previous| in float64 (partial sums per element range, added in range order).</summary>
    public static (double Difference, double Reference) L1Distance(float[] current, float[] previous)
    {
        if (current.Length != previous.Length) throw new ArgumentException($"L1 distance: {current.Length} and {previous.Length} elements");
        var parts = new System.Collections.Concurrent.ConcurrentDictionary<int, (double, double)>();
        ElementRanges.For(current.Length, (start, end) =>
        {
            double d = 0, r = 0;
            for (int i = start; i < end; i++)
            {
                d += Math.Abs((double)current[i] - previous[i]);
                r += Math.Abs((double)previous[i]);
            }
            parts[start] = (d, r);
        });
        double diff = 0, norm = 0;
        foreach (var (_, (d, r)) in parts.OrderBy(kv => kv.Key)) { diff += d; norm += r; }
        return (diff, norm);
    }

    /// <summary><see cref="RescaleRowNorms(IEngineTensor, IEngineTensor, IEngineTensor, long)"/> on host arrays of equal
    /// length, parallel over rows.</summary>
    public static void RescaleRowNorms(float[] destination, float[] source, float[] reference, int rowLength)
    {
        if (source.Length != reference.Length || source.Length != destination.Length || rowLength < 1 || source.Length % rowLength != 0)
            throw new ArgumentException($"row norm rescale: {destination.Length}, {source.Length} and {reference.Length} elements are not equal whole rows of {rowLength}");
        ElementRanges.For(source.Length / rowLength, (firstRow, endRow) =>
        {
            for (int r = firstRow; r < endRow; r++)
            {
                int start = r * rowLength;
                float ratio = Norm(reference.AsSpan(start, rowLength)) / Norm(source.AsSpan(start, rowLength));
                for (int i = start; i < start + rowLength; i++) destination[i] = source[i] * ratio;
            }
        });
    }

    /// <summary>The L2 norm accumulated in float64, rounded to float32.</summary>
    static float Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return (float)Math.Sqrt(s);
    }

    static float[] Floats(IEngineTensor t, string what) => t is HostResidentTensor h ? h.Tensor.Floats
        : throw new EngineException($"arithmetic on the host: {what} is not a host tensor ({t.GetType().Name})");
}
