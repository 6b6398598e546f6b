using VisualGen.Engines.Cuda.Native;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>A tensor on the device during one shape's plan: shape, dtype, and the buffer the memory planner gives it.
/// Views (Reshape, Squeeze, ...) alias their source and extend its lifetime.</summary>
internal sealed class DeviceValue(string name, long[] shape, VgDType dtype, DeviceValue? alias = null)
{
    public string Name { get; } = name;
    public long[] Shape { get; } = shape;
    public VgDType DType { get; } = dtype;
    public DeviceValue? Alias { get; } = alias;
    /// <summary>Persistent values (graph inputs/outputs, plan constants) get their own buffer and are never reused.</summary>
    public bool Persistent { get; set; }
    /// <summary>A graph output placed in the buffer of this graph input (<see cref="ShapePlanner"/>: the input's last read
    /// comes before the output's first write), instead of a buffer of its own.</summary>
    public DeviceValue? Reuses { get; set; }
    public int Def { get; set; } = -1;
    public int LastUse { get; set; } = -1;
    public IntPtr BasePtr { get; set; }
    public DeviceValue Root => Alias?.Root ?? this;
    public IntPtr Ptr => Root.BasePtr;
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public int ElementSize => DType switch { VgDType.BF16 => 2, VgDType.FP8E4M3 => 1, VgDType.I64 => 8, _ => 4 };
    public long Bytes => Count * ElementSize;
    public override string ToString() => $"{Name}[{string.Join(",", Shape)}]:{DType}";
}

/// <summary>Kernel classes for the time-share report.</summary>
public enum KernelClass { Gemm, Attention, NormRope, Other, Conv }

/// <summary>One launch (or a few) of a shape plan. Steps only enqueue work on the stream: capture-safe.</summary>
internal abstract class Step(string name, KernelClass kind)
{
    public string Name { get; } = name;
    public KernelClass Kind { get; } = kind;
    /// <summary>What the step runs when its name does not say (attention: the plan key, e.g. its kv length).</summary>
    public string? Detail { get; init; }
    public abstract void Run(IntPtr stream);
    public override string ToString() => $"{Kind}:{Name}";
}

internal sealed class ActionStep(string name, KernelClass kind, Action<IntPtr> run) : Step(name, kind)
{
    public override void Run(IntPtr stream) => run(stream);
}
