using VisualGen.Checkpoints;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// <see cref="ITensorArithmetic"/> on the GPU: one kernel (vg_combine, vg_rescale_row_norms, vg_l1_distance) per call on the default stream, waited for (a few
/// microseconds; engines synchronize their own streams before handing tensors out, so no ordering is lost). Tensors it
/// allocates are plain device allocations freed on dispose, independent of any engine, so latents and scheduler history
/// outlive an engine that is released mid-generation (the A14B expert swap). It works on the calling thread's current
/// device: one GPU per process today (several GPUs, issue 15, will need one instance per device).
/// </summary>
public sealed class CudaArithmetic : ITensorArithmetic
{
    public static CudaArithmetic Instance { get; } = new();

    readonly TensorPool _unpooled = new() { Keep = false };

    public IEngineTensor Allocate(long[] shape) => new CudaTensor([.. shape], TensorDType.F32, _unpooled);

    public unsafe void Combine(IEngineTensor destination, long destinationOffset, long count, ReadOnlySpan<LinearTerm> terms)
    {
        TensorArithmetic.CheckCombine(destination, destinationOffset, count, terms);
        var coefs = stackalloc double[terms.Length];
        var srcs = stackalloc IntPtr[terms.Length];
        for (int k = 0; k < terms.Length; k++)
        {
            coefs[k] = terms[k].Coefficient;
            srcs[k] = Device(terms[k].Source, $"term {k}") + (nint)(terms[k].Offset * sizeof(float));
        }
        var o = Device(destination, "destination") + (nint)(destinationOffset * sizeof(float));
        Check(vg_combine(o, count, terms.Length, coefs, srcs, IntPtr.Zero), "linear combination");
        Check(vg_stream_synchronize(IntPtr.Zero), "linear combination");
    }

    public void RescaleRowNorms(IEngineTensor destination, IEngineTensor source, IEngineTensor reference, long rowLength)
    {
        long rows = TensorArithmetic.CheckRescaleRowNorms(destination, source, reference, rowLength);
        Check(vg_rescale_row_norms(Device(destination, "destination"), Device(source, "source"), Device(reference, "reference"),
            rows, rowLength, IntPtr.Zero), "row norm rescale");
        Check(vg_stream_synchronize(IntPtr.Zero), "row norm rescale");
    }

    /// <summary>Two device doubles for <see cref="L1Distance"/>'s sums (as four floats' bytes), made on first use.</summary>
    CudaTensor? _sums;
    readonly object _sumsLock = new();

    public (double Difference, double Reference) L1Distance(IEngineTensor current, IEngineTensor previous)
    {
        long n = TensorArithmetic.CheckL1Distance(current, previous);
        lock (_sumsLock)
        {
            _sums ??= new CudaTensor([4], TensorDType.F32, _unpooled);
            Check(vg_l1_distance(Device(current, "current"), Device(previous, "previous"), n, _sums.Ptr, IntPtr.Zero), "L1 distance");
            Check(vg_stream_synchronize(IntPtr.Zero), "L1 distance");
            var bits = System.Runtime.InteropServices.MemoryMarshal.Cast<float, double>(_sums.ToHost().Floats.AsSpan());
            return (bits[0], bits[1]);
        }
    }

    static IntPtr Device(IEngineTensor t, string what) => t is CudaTensor c ? c.Ptr
        : throw new EngineException($"arithmetic on the GPU: {what} is not a CUDA device tensor ({t.GetType().Name})");
}
