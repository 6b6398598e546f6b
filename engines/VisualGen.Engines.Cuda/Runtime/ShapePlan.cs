using VisualGen.Engines.Cuda.Native;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>The executable plan for one set of input shapes: steps, device buffers, and (after the first run) the
/// CUDA graph that replays them.</summary>
internal sealed class ShapePlan(EngineResources res) : IDisposable
{
    readonly List<DeviceMemory> _blocks = [];
    long _workspaceNeed;
    // the values placed in the device arena (DeviceArena) and their offsets; the workspace lies after them
    List<(DeviceValue Value, long Offset)> _inArena = [];
    long _workspaceOffset;
    IntPtr _arenaBase;
    int _generation = -1;

    public List<Step> Steps { get; } = [];
    public List<DeviceValue> Values { get; } = [];
    public Dictionary<string, DeviceValue> Inputs { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, DeviceValue> Outputs { get; } = new(StringComparer.Ordinal);
    public List<(DeviceValue Value, float[] Data)> HostUploads { get; } = [];
    public List<(DeviceValue Value, long[] Data)> HostUploadsI64 { get; } = [];
    public List<(GemmPlan Plan, DeviceValue A, IntPtr W, DeviceValue? Bias, DeviceValue Out)> Gemms { get; } = [];
    /// <summary>The FP8 GEMMs (per-tensor and per-row scaled) with their operands, which the tuning walks too.</summary>
    public List<Fp8GemmCall> Fp8Gemms { get; } = [];
    /// <summary>Planned: the bytes of the plan's own buffers plus its arena bytes (<see cref="ArenaBytes"/>); Naive: every
    /// value in a buffer of its own.</summary>
    public (long Planned, long Naive) MemoryReport { get; set; }
    public CudaGraphHandle? Graph { get; set; }
    public double PlanSeconds { get; set; }
    public double AttentionFlops { get; set; }
    /// <summary>2·M·N·K of the quantized linears' GEMMs (not in <see cref="Gemms"/>, which the bf16 tuning walks).</summary>
    public double QuantGemmFlops { get; set; }
    public int BlockCount { get; set; }

    /// <summary>The workspace of the plan's library calls, in the arena (valid while the plan is bound to it).</summary>
    public IntPtr Workspace => _workspaceNeed > 0 && _arenaBase != IntPtr.Zero ? _arenaBase + (nint)_workspaceOffset : IntPtr.Zero;
    public long WorkspaceBytes => Workspace == IntPtr.Zero ? 0 : _workspaceNeed;
    /// <summary>Bytes of the device arena this plan needs: its transient values and outputs, then its workspace.</summary>
    public long ArenaBytes { get; private set; }
    /// <summary>Bytes of the plan's own buffers (inputs, constants).</summary>
    public long OwnBytes => _blocks.Sum(b => b.Bytes);

    public void NoteWorkspace(long bytes) => _workspaceNeed = Math.Max(_workspaceNeed, bytes);
    /// <summary>The largest workspace a step of this plan needs.</summary>
    public long WorkspaceNeed => _workspaceNeed;

    /// <summary>The memory planner's placement: values at offsets of the arena (<paramref name="valueBytes"/> of them),
    /// then the workspace.</summary>
    public void PlaceInArena(List<(DeviceValue Value, long Offset)> values, long valueBytes)
    {
        _inArena = values;
        _workspaceOffset = (valueBytes + 255) / 256 * 256;
        ArenaBytes = _workspaceOffset + (_workspaceNeed + 255) / 256 * 256;
    }

    /// <summary>Points the arena's values at <paramref name="arenaBase"/>; a plan bound to an earlier allocation drops its
    /// CUDA graph (captured with the old addresses), and the next run captures it again.</summary>
    public void Bind(IntPtr arenaBase, int generation)
    {
        if (arenaBase == _arenaBase && generation == _generation) return;
        foreach (var (v, offset) in _inArena) v.BasePtr = arenaBase + (nint)offset;
        _arenaBase = arenaBase;
        _generation = generation;
        Graph?.Dispose();
        Graph = null;
    }

    /// <summary>Allocates a buffer of its own for each of <paramref name="sizes"/> (the plan's persistent values).</summary>
    public void AllocateBlocks(List<long> sizes)
    {
        foreach (var s in sizes) _blocks.Add(DeviceMemory.Allocate(s));
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
        foreach (var b in _blocks) b.Dispose();
        _blocks.Clear();
    }
}
