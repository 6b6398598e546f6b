using System.Runtime.InteropServices;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Native;

/// <summary>Base of every native handle: released exactly once by its destroy function.</summary>
internal abstract class NativeHandle : SafeHandle
{
    protected NativeHandle(IntPtr h) : base(IntPtr.Zero, true) { SetHandle(h); }
    public override bool IsInvalid => handle == IntPtr.Zero;
    public IntPtr Ptr => handle;
}

internal sealed class ContextHandle(IntPtr h) : NativeHandle(h)
{
    public static ContextHandle Create(int device)
    {
        Check(vg_context_create(device, out var h), "vg_context_create");
        return new ContextHandle(h);
    }
    protected override bool ReleaseHandle() => vg_context_destroy(handle) == 0;
}

internal sealed class GemmPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => vg_gemm_plan_destroy(handle) == 0;
}

internal sealed class ConvPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => vg_conv_plan_destroy(handle) == 0;
}

internal sealed class AttentionPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => vg_attention_plan_destroy(handle) == 0;
}

internal sealed class SageAttentionPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => vg_sage_attention_plan_destroy(handle) == 0;
}

internal sealed class StreamHandle(IntPtr h) : NativeHandle(h)
{
    public static StreamHandle Create()
    {
        Check(vg_stream_create(out var h), "vg_stream_create");
        return new StreamHandle(h);
    }
    public void Synchronize() => Check(vg_stream_synchronize(handle), "vg_stream_synchronize");
    protected override bool ReleaseHandle() => vg_stream_destroy(handle) == 0;
}

internal sealed class CudaGraphHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => vg_graph_destroy(handle) == 0;
}

internal sealed class EventHandle(IntPtr h) : NativeHandle(h)
{
    public static EventHandle Create()
    {
        Check(vg_event_create(out var h), "vg_event_create");
        return new EventHandle(h);
    }
    public void Record(StreamHandle s) => Check(vg_event_record(handle, s.Ptr), "vg_event_record");
    public float ElapsedSince(EventHandle start)
    {
        Check(vg_event_elapsed_ms(start.Ptr, handle, out var ms), "vg_event_elapsed_ms");
        return ms;
    }
    protected override bool ReleaseHandle() => vg_event_destroy(handle) == 0;
}

/// <summary>One cudaMalloc'd block.</summary>
internal sealed class DeviceMemory : NativeHandle
{
    public long Bytes { get; }
    DeviceMemory(IntPtr h, long bytes) : base(h) { Bytes = bytes; }
    public static DeviceMemory Allocate(long bytes)
    {
        int status = vg_malloc((nuint)Math.Max(bytes, 256), out var p);
        if (status != 0 && OutOfMemory(bytes, Marshal.PtrToStringUTF8(vg_last_error()) ?? "") is { } message)
            throw new EngineException(message);
        Check(status, $"vg_malloc({bytes} bytes)");
        return new DeviceMemory(p, bytes);
    }

    /// <summary>What a failed allocation tells the user when the GPU is out of memory (the library's message names
    /// cudaErrorMemoryAllocation); null for other failures.</summary>
    public static string? OutOfMemory(long bytes, string nativeMessage) =>
        nativeMessage.Contains("cudaErrorMemoryAllocation", StringComparison.Ordinal)
            ? $"the GPU is out of memory: {bytes / (double)(1L << 30):F2} GiB could not be allocated. Bound the engines' memory with " +
              "--gpu-memory (earlier stages' engines are then released), decode with --vae-tiling, ask for a smaller size or " +
              "fewer frames, or free the GPU of other processes"
            : null;
    protected override bool ReleaseHandle() => vg_free(handle) == 0;

    public unsafe void Upload<T>(ReadOnlySpan<T> data, StreamHandle stream, long byteOffset = 0) where T : unmanaged
    {
        fixed (T* p = data)
            Check(vg_memcpy_async(handle + (nint)byteOffset, (IntPtr)p, (nuint)(data.Length * sizeof(T)), 0, stream.Ptr), "upload");
        stream.Synchronize();
    }
}
