using VisualGen.Engines.Cuda.Runtime;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// Assigns device memory by lifetime: graph inputs and plan constants get allocations of the plan's own; every other
/// value, the outputs the plan computes included, gets an offset in the device's arena (<see cref="MemoryPlanner.Arrange"/>,
/// <see cref="DeviceArena"/>), where values whose lifetimes do not overlap share bytes.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>A value to place: its bytes, the step that writes it first and the step that reads it last.</summary>
    public sealed record Interval(string Name, long Bytes, int Def, int LastUse, bool Persistent);

    /// <summary>
    /// Places the values that are not persistent at offsets of one arena (greedy by size, as TensorFlow Lite's arena
    /// planner does): largest first, each in the smallest gap between the values whose lifetimes overlap its own
    /// that fits it, else above them all. Bytes a value leaves are reused by later values of any size and at any
    /// offset (blocks of fixed sizes, best fit by whole block, took 14-26 % more at the Wan VAE's decoders). Returns the
    /// arena's bytes and each value's offset (256-byte aligned).
    /// </summary>
    public static (long Bytes, Dictionary<string, long> OffsetOf) Arrange(IEnumerable<Interval> intervals)
    {
        var placed = new List<(long Offset, long Bytes, int Start, int End)>();
        var offsetOf = new Dictionary<string, long>(StringComparer.Ordinal);
        long arena = 0;
        foreach (var v in intervals.Where(v => !v.Persistent).OrderByDescending(v => v.Bytes).ThenBy(v => v.Def))
        {
            long bytes = (v.Bytes + 255) / 256 * 256;
            int start = v.Def, end = Math.Max(v.LastUse, v.Def);
            long best = -1, bestGap = long.MaxValue, at = 0;
            foreach (var p in placed.Where(p => p.Start <= end && start <= p.End).OrderBy(p => p.Offset))
            {
                long gap = p.Offset - at;
                if (gap >= bytes && gap < bestGap) { best = at; bestGap = gap; }
                at = Math.Max(at, p.Offset + p.Bytes);
            }
            if (best < 0) best = at;   // above every overlapping value
            placed.Add((best, bytes, start, end));
            offsetOf[v.Name] = best;
            arena = Math.Max(arena, best + bytes);
        }
        return (arena, offsetOf);
    }

    internal static void Assign(ShapePlan plan, bool allocate = true)
    {
        // outputs the plan computes live in the arena to its end (the run copies them out before it lets the arena go);
        // inputs, constants and outputs placed in a dead input's buffer (ShapePlanner) keep buffers of the plan's own
        var outputs = plan.Outputs.Values.Select(v => v.Root).Where(v => v.Reuses is null && v.Def >= 0 && !plan.Inputs.ContainsValue(v)).ToHashSet();
        var roots = plan.Values.Where(v => v.Alias is null).ToList();
        bool Own(DeviceValue v) => v.Persistent && !outputs.Contains(v);
        int end = plan.Steps.Count;
        var intervals = roots.Select((v, i) => new Interval(v.Name + "@" + i, v.Bytes, Own(v) ? -1 : Math.Max(v.Def, 0),
            outputs.Contains(v) ? end : v.LastUse, Own(v))).ToList();
        var (arena, offsetOf) = Arrange(intervals);
        plan.PlaceInArena([.. roots.Select((v, i) => (v, i)).Where(x => !Own(x.v)).Select(x => (x.v, offsetOf[intervals[x.i].Name]))], arena);
        var own = roots.Where(v => Own(v) && v.Reuses is null).ToList();
        plan.MemoryReport = (plan.ArenaBytes + own.Sum(v => (v.Bytes + 255) / 256 * 256), roots.Sum(v => v.Bytes));
        plan.BlockCount = own.Count + (plan.ArenaBytes > 0 ? 1 : 0);
        if (!allocate) return;
        plan.AllocateBlocks([.. own.Select(v => v.Bytes)]);
        for (int i = 0; i < own.Count; i++) own[i].BasePtr = plan.BlockPointer(i);
        foreach (var v in roots.Where(v => v.Reuses is not null)) v.BasePtr = v.Reuses!.BasePtr;
    }
}
