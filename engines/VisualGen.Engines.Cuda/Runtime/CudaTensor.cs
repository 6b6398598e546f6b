using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Tensors;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>A float32 or int64 tensor in its own device allocation (the native engine's <see cref="IEngineTensor"/>).</summary>
public sealed class CudaTensor : IEngineTensor
{
    readonly DeviceMemory _memory;

    internal CudaTensor(long[] shape, TensorDType dtype)
    {
        if (dtype is not (TensorDType.F32 or TensorDType.I64)) throw new EngineException($"device tensors are float32 or int64, not {dtype}");
        Shape = shape; DType = dtype;
        _memory = DeviceMemory.Allocate(Bytes);
    }

    public long[] Shape { get; }
    public TensorDType DType { get; }
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public long Bytes => Count * (DType == TensorDType.I64 ? 8 : 4);
    internal IntPtr Ptr => _memory.Ptr;

    internal static unsafe CudaTensor FromHost(HostTensor t, StreamHandle stream)
    {
        var d = new CudaTensor(t.Shape, t.DType);
        if (t.DType == TensorDType.I64) d._memory.Upload<long>(t.Longs, stream);
        else d._memory.Upload<float>(t.Floats, stream);
        return d;
    }

    public unsafe HostTensor ToHost()
    {
        // the producing engine synchronized its stream before handing the tensor out: a plain synchronous copy suffices
        if (DType == TensorDType.I64)
        {
            var l = new long[Count];
            fixed (long* p = l) Check(vg_memcpy_async((IntPtr)p, Ptr, (nuint)Bytes, 1, IntPtr.Zero), "download of a device tensor");
            Check(vg_stream_synchronize(IntPtr.Zero), "download of a device tensor");
            return HostTensor.Int64(l, Shape);
        }
        var f = new float[Count];
        fixed (float* p = f) Check(vg_memcpy_async((IntPtr)p, Ptr, (nuint)Bytes, 1, IntPtr.Zero), "download of a device tensor");
        Check(vg_stream_synchronize(IntPtr.Zero), "download of a device tensor");
        return HostTensor.Float32(f, Shape);
    }

    public void Dispose() => _memory.Dispose();

    public override string ToString() => $"cuda[{string.Join(",", Shape)}]:{DType}";
}
