using VisualGen.Engines.Cuda.Native;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>The executable plan for one set of input shapes: steps, device buffers, and (after the first run) the
/// CUDA graph that replays them.</summary>
internal sealed class ShapePlan(EngineResources res) : IDisposable
{
    readonly List<DeviceMemory> _blocks = [];
    DeviceMemory? _workspace;
    long _workspaceNeed;

    public List<Step> Steps { get; } = [];
    public List<DeviceValue> Values { get; } = [];
    public Dictionary<string, DeviceValue> Inputs { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DeviceValue> Outputs { get; } = new(StringComparer.Ordinal);
    public List<(DeviceValue Value, float[] Data)> HostUploads { get; } = [];
    public List<(DeviceValue Value, long[] Data)> HostUploadsI64 { get; } = [];
    public List<(GemmPlan Plan, DeviceValue A, IntPtr W, DeviceValue? Bias, DeviceValue Out)> Gemms { get; } = [];
    public (long Planned, long Naive) MemoryReport { get; set; }
    public CudaGraphHandle? Graph { get; set; }
    public double PlanSeconds { get; set; }
    public double AttentionFlops { get; set; }
    /// <summary>2·M·N·K of the quantized linears' GEMMs (not in <see cref="Gemms"/>, which the bf16 tuning walks).</summary>
    public double QuantGemmFlops { get; set; }
    public int BlockCount { get; set; }

    public IntPtr Workspace => _workspace?.Ptr ?? IntPtr.Zero;
    public long WorkspaceBytes => _workspace?.Bytes ?? 0;

    public void NoteWorkspace(long bytes) => _workspaceNeed = Math.Max(_workspaceNeed, bytes);
    /// <summary>The largest workspace a step of this plan needs (what is allocated when the plan is made on a GPU).</summary>
    public long WorkspaceNeed => _workspaceNeed;

    public void AllocateBlocks(List<long> sizes)
    {
        foreach (var s in sizes) _blocks.Add(DeviceMemory.Allocate(s));
        if (_workspaceNeed > 0) _workspace = DeviceMemory.Allocate(_workspaceNeed);
    }

    public IntPtr BlockPointer(int i) => _blocks[i].Ptr;

    public void UploadConstants()
    {
        foreach (var (v, data) in HostUploads)
            unsafe
            {
                fixed (float* p = data)
                    NativeMethods.Check(NativeMethods.vg_memcpy_async(v.Ptr, (IntPtr)p, (nuint)(data.Length * 4), 0, res.Stream.Ptr), $"upload of {v.Name}");
            }
        foreach (var (v, data) in HostUploadsI64)
            unsafe
            {
                fixed (long* p = data)
                    NativeMethods.Check(NativeMethods.vg_memcpy_async(v.Ptr, (IntPtr)p, (nuint)(data.Length * 8), 0, res.Stream.Ptr), $"upload of {v.Name}");
            }
        res.Stream.Synchronize();
    }

    public void RunSteps(IntPtr stream)
    {
        foreach (var s in Steps) s.Run(stream);
    }

    public void Dispose()
    {
        Graph?.Dispose();
        _workspace?.Dispose();
        foreach (var b in _blocks) b.Dispose();
        _blocks.Clear();
    }
}
