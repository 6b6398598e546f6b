using VisualGen.Engines.Cuda.Runtime;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>One device block and the values that live in it one after another.</summary>
public sealed record MemoryBlock(long Bytes, List<string> Values);

/// <summary>
/// Assigns device buffers by lifetime: values are placed in step order; a value's block is free again after the
/// step of its last use, and a later value takes the smallest free block that fits (best fit), else a new block.
/// Persistent values (graph inputs and outputs, plan constants) get their own blocks.
/// </summary>
public static class MemoryPlanner
{
    /// <summary>A value to place: its bytes, the step that writes it first and the step that reads it last.</summary>
    public sealed record Interval(string Name, long Bytes, int Def, int LastUse, bool Persistent);

    /// <summary>Places intervals; returns the blocks and each value's block index.</summary>
    public static (List<MemoryBlock> Blocks, Dictionary<string, int> BlockOf) Place(IEnumerable<Interval> intervals)
    {
        var blocks = new List<MemoryBlock>();
        var blockOf = new Dictionary<string, int>(StringComparer.Ordinal);
        var freeAt = new List<int>(); // step after which each block is free (-2 = never: persistent)
        foreach (var v in intervals.OrderBy(v => v.Def).ThenByDescending(v => v.Bytes))
        {
            long bytes = (v.Bytes + 255) / 256 * 256;
            int best = -1;
            if (!v.Persistent)
                for (int i = 0; i < blocks.Count; i++)
                    if (freeAt[i] != -2 && freeAt[i] < v.Def && blocks[i].Bytes >= bytes && (best < 0 || blocks[i].Bytes < blocks[best].Bytes))
                        best = i;
            if (best < 0)
            {
                blocks.Add(new MemoryBlock(bytes, []));
                freeAt.Add(0);
                best = blocks.Count - 1;
            }
            blocks[best].Values.Add(v.Name);
            freeAt[best] = v.Persistent ? -2 : Math.Max(v.LastUse, v.Def);
            blockOf[v.Name] = best;
        }
        return (blocks, blockOf);
    }

    internal static void Assign(ShapePlan plan, bool allocate = true)
    {
        var roots = plan.Values.Where(v => v.Alias is null).ToList();
        var intervals = roots.Select(v => new Interval(v.Name + "@" + roots.IndexOf(v), v.Bytes, v.Persistent ? -1 : Math.Max(v.Def, 0),
            v.LastUse, v.Persistent)).ToList();
        var (blocks, blockOf) = Place(intervals);
        plan.MemoryReport = (blocks.Sum(b => b.Bytes), roots.Sum(v => v.Bytes));
        plan.BlockCount = blocks.Count;
        if (!allocate) return;
        plan.AllocateBlocks(blocks.Select(b => b.Bytes).ToList());
        for (int i = 0; i < roots.Count; i++) roots[i].BasePtr = plan.BlockPointer(blockOf[intervals[i].Name]);
    }
}
