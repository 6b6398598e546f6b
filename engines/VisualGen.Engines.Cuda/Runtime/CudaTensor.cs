using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Tensors;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>A float32 or int64 tensor in its own device allocation (the native engine's <see cref="IEngineTensor"/>).</summary>
public sealed class CudaTensor : IEngineTensor
{
    readonly DeviceMemory _memory;
    readonly TensorPool _pool;
    bool _disposed;

    internal CudaTensor(long[] shape, TensorDType dtype, TensorPool pool)
    {
        if (dtype is not (TensorDType.F32 or TensorDType.I64)) throw new EngineException($"device tensors are float32 or int64, not {dtype}");
        Shape = shape; DType = dtype; _pool = pool;
        _memory = pool.Rent(Bytes);
    }

    public long[] Shape { get; }
    public TensorDType DType { get; }
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public long Bytes => Count * (DType == TensorDType.I64 ? 8 : 4);
    internal IntPtr Ptr => _memory.Ptr;

    internal static unsafe CudaTensor FromHost(HostTensor t, StreamHandle stream, TensorPool pool)
    {
        var d = new CudaTensor(t.Shape, t.DType, pool);
        if (t.DType == TensorDType.I64) d._memory.Upload<long>(t.Longs, stream);
        else d._memory.Upload<float>(t.Floats, stream);
        return d;
    }

    public unsafe HostTensor ToHost()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
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

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _pool.Return(_memory);
    }

    public override string ToString() => $"cuda[{string.Join(",", Shape)}]:{DType}";
}

/// <summary>Device allocations of resident tensors, reused by size: a VAE chunk loop hands out and frees the same sizes
/// every call, and cudaMalloc/cudaFree of gigabytes per chunk (cudaFree synchronizes the device) cost more than the
/// chunk's copies. The engines of one device share one pool (<see cref="Acquire"/>): the Wan VAE's first-chunk engine
/// hands its feature cache (3.8 GB at 480×832) to the next-chunk engine, whose outputs then reuse those buffers instead
/// of new ones. Idle buffers are freed whenever an engine that used the pool is released (a GPU memory budget that
/// unloads an engine gets its memory back), the pool itself with the last of them.</summary>
internal sealed class TensorPool : IDisposable
{
    static readonly PerDevice<TensorPool> Shared = new(device => new TensorPool(device));
    readonly Dictionary<long, Stack<DeviceMemory>> _free = [];
    readonly int _device = -1;
    long _held;
    bool _disposed;

    public TensorPool() { }
    TensorPool(int device) => _device = device;

    /// <summary>Device bytes allocated through the pool and not freed: tensors in use and idle buffers kept for reuse.</summary>
    public long HeldBytes { get { lock (_free) return _held; } }

    /// <summary>False: returned memory is freed at once instead of kept for reuse (allocations that outlive engines).</summary>
    public bool Keep { get; init; } = true;

    /// <summary>The pool of <paramref name="device"/>, shared with the other engines loaded on it; pair with <see cref="Release"/>.</summary>
    public static TensorPool Acquire(int device) => Shared.Acquire(device);

    /// <summary>An engine is done with the pool: idle buffers are freed, and the pool with its last user.</summary>
    public void Release()
    {
        if (_device < 0 || Shared.Release(_device)) Dispose();
        else Trim();
    }

    public DeviceMemory Rent(long bytes)
    {
        lock (_free)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_free.TryGetValue(bytes, out var s) && s.Count > 0) return s.Pop();
        }
        var memory = DeviceMemory.Allocate(bytes);
        lock (_free) _held += memory.Bytes;
        return memory;
    }

    public void Return(DeviceMemory memory)
    {
        lock (_free)
        {
            if (_disposed || !Keep) { _held -= memory.Bytes; memory.Dispose(); return; }
            if (!_free.TryGetValue(memory.Bytes, out var s)) _free[memory.Bytes] = s = new Stack<DeviceMemory>();
            s.Push(memory);
        }
    }

    /// <summary>Frees the idle buffers.</summary>
    public void Trim()
    {
        lock (_free)
        {
            foreach (var s in _free.Values)
                foreach (var m in s) { _held -= m.Bytes; m.Dispose(); }
            _free.Clear();
        }
    }

    public void Dispose()
    {
        lock (_free)
        {
            _disposed = true;
            foreach (var s in _free.Values)
                foreach (var m in s) { _held -= m.Bytes; m.Dispose(); }
            _free.Clear();
        }
    }
}
