using VisualGen.Tensors;

namespace VisualGen.Engines;

/// <summary><see cref="ITensorArithmetic"/> in host memory, over <see cref="HostResidentTensor"/>s: what engines computing on the
/// host (ONNX Runtime CPU) do between their calls. Parallel over element ranges; float64 per element.</summary>
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

    static float[] Floats(IEngineTensor t, string what) => t is HostResidentTensor h ? h.Tensor.Floats
        : throw new EngineException($"linear combination on the host: {what} is not a host tensor ({t.GetType().Name})");
}
