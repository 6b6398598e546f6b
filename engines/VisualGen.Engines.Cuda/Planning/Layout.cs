using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>A value during planning: its shape, and its contents when they are known on the host (constants and
/// everything computed only from constants and shapes, folded at plan time).</summary>
public sealed class HostValue(long[] shape, double[] data, bool isInt, bool isF64 = false)
{
    public long[] Shape { get; } = shape;
    public double[] Data { get; } = data;
    public bool IsInt { get; } = isInt;
    /// <summary>A float64 value (the graph computes it in double): results derived from it are not rounded to float32.</summary>
    public bool IsF64 { get; } = isF64;
    public long Count => Data.LongLength;
    public long[] Longs => Data.Select(d => (long)d).ToArray();
}

/// <summary>One strided copy: sizes of the index space, the source view (input <see cref="Src"/>) and the destination
/// view (output <see cref="Dst"/>), strides in elements.</summary>
public sealed record StridedCopy(int Src, long SrcOffset, long[] SrcStrides, int Dst, long DstOffset, long[] DstStrides, long[] Sizes);

/// <summary>Shape arithmetic shared by host folding and device planning.</summary>
public static class Layout
{
    public static long Count(long[] s) => s.Aggregate(1L, (a, b) => a * b);

    public static long[] Contiguous(long[] shape)
    {
        var st = new long[shape.Length];
        long acc = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { st[i] = acc; acc *= shape[i]; }
        return st;
    }

    public static long[] Broadcast(long[] a, long[] b, string what)
    {
        int r = Math.Max(a.Length, b.Length);
        var o = new long[r];
        for (int i = 0; i < r; i++)
        {
            long x = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            long y = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (x != y && x != 1 && y != 1) throw new EngineException($"{what}: shapes [{string.Join(",", a)}] and [{string.Join(",", b)}] do not broadcast");
            o[i] = x == 1 ? y : x;
        }
        return o;
    }

    /// <summary>Strides that read a tensor of <paramref name="shape"/> broadcast to <paramref name="outShape"/>.</summary>
    public static long[] BroadcastStrides(long[] shape, long[] outShape)
    {
        var c = Contiguous(shape);
        var st = new long[outShape.Length];
        int off = outShape.Length - shape.Length;
        for (int i = 0; i < outShape.Length; i++)
        {
            int j = i - off;
            st[i] = j < 0 || shape[j] == 1 ? 0 : c[j];
        }
        return st;
    }

    static int Axis(long axis, int rank, OpNode n) =>
        axis < -rank || axis >= rank ? throw new EngineException($"node {n}: axis {axis} out of range for rank {rank}") : (int)(axis < 0 ? axis + rank : axis);

    public static long[] Reshape(long[] input, long[] target, OpNode n)
    {
        var o = target.ToArray();
        for (int i = 0; i < o.Length; i++) if (o[i] == 0 && n.Int("allowzero", 0) == 0) o[i] = input[i];
        int minus = Array.IndexOf(o, -1L);
        long total = Count(input);
        if (minus >= 0)
        {
            long rest = 1;
            for (int i = 0; i < o.Length; i++) if (i != minus) rest *= o[i];
            o[minus] = rest == 0 ? 0 : total / rest;
        }
        if (Count(o) != total) throw new EngineException($"node {n}: cannot reshape [{string.Join(",", input)}] to [{string.Join(",", target)}]");
        return o;
    }

    public static long[] Unsqueeze(long[] input, long[] axes, OpNode n)
    {
        int r = input.Length + axes.Length;
        var ax = axes.Select(a => Axis(a, r, n)).ToHashSet();
        var o = new long[r];
        int k = 0;
        for (int i = 0; i < r; i++) o[i] = ax.Contains(i) ? 1 : input[k++];
        return o;
    }

    public static long[] Squeeze(long[] input, long[]? axes, OpNode n)
    {
        var ax = axes is null ? Enumerable.Range(0, input.Length).Where(i => input[i] == 1).ToHashSet() : axes.Select(a => Axis(a, input.Length, n)).ToHashSet();
        foreach (var a in ax) if (input[a] != 1) throw new EngineException($"node {n}: cannot squeeze axis {a} of size {input[a]}");
        return input.Where((_, i) => !ax.Contains(i)).ToArray();
    }

    public static long[] Flatten(long[] input, long axis, OpNode n)
    {
        int a = axis < 0 ? (int)axis + input.Length : (int)axis;
        return [Count(input[..a]), Count(input[a..])];
    }

    /// <summary>The copies a layout op makes (Transpose, Expand, Slice, Split, Concat) from input shapes and host parameters.</summary>
    public static (long[][] OutShapes, List<StridedCopy> Copies) Copies(OpNode n, long[][] inShapes, Func<int, HostValue?> param)
    {
        switch (n.Op)
        {
            case "Transpose":
            {
                var s = inShapes[0];
                var perm = n.Ints("perm") ?? Enumerable.Range(0, s.Length).Reverse().Select(i => (long)i).ToArray();
                var c = Contiguous(s);
                var outS = perm.Select(p => s[p]).ToArray();
                return ([outS], [new StridedCopy(0, 0, perm.Select(p => c[p]).ToArray(), 0, 0, Contiguous(outS), outS)]);
            }
            case "Expand":
            {
                var target = Need(param(1), n, 1).Longs;
                var outS = Broadcast(inShapes[0], target, n.ToString());
                return ([outS], [new StridedCopy(0, 0, BroadcastStrides(inShapes[0], outS), 0, 0, Contiguous(outS), outS)]);
            }
            case "Slice":
            {
                var s = inShapes[0];
                var starts = Need(param(1), n, 1).Longs;
                var ends = Need(param(2), n, 2).Longs;
                var axes = param(3)?.Longs ?? Enumerable.Range(0, starts.Length).Select(i => (long)i).ToArray();
                var steps = param(4)?.Longs ?? Enumerable.Repeat(1L, starts.Length).ToArray();
                var c = Contiguous(s);
                var outS = s.ToArray();
                var st = c.ToArray();
                long offset = 0;
                for (int i = 0; i < starts.Length; i++)
                {
                    int a = Axis(axes[i], s.Length, n);
                    if (steps[i] <= 0) throw new EngineException($"node {n}: Slice with step {steps[i]} is not supported by the native CUDA engine");
                    long dim = s[a];
                    long b = starts[i] < 0 ? starts[i] + dim : starts[i];
                    long e = ends[i] < 0 ? ends[i] + dim : ends[i];
                    b = Math.Clamp(b, 0, dim); e = Math.Clamp(e, 0, dim);
                    long len = e > b ? (e - b + steps[i] - 1) / steps[i] : 0;
                    outS[a] = len; st[a] = c[a] * steps[i]; offset += b * c[a];
                }
                return ([outS], [new StridedCopy(0, offset, st, 0, 0, Contiguous(outS), outS)]);
            }
            case "Split":
            {
                var s = inShapes[0];
                int a = Axis(n.Int("axis", 0), s.Length, n);
                int outs = n.Outputs.Count;
                long[] sizes = param(1)?.Longs ?? Enumerable.Range(0, outs).Select(i =>
                {
                    long chunk = (s[a] + outs - 1) / outs;
                    return Math.Min(chunk, s[a] - chunk * i);
                }).ToArray();
                if (sizes.Sum() != s[a]) throw new EngineException($"node {n}: split sizes {string.Join(",", sizes)} do not add up to {s[a]}");
                var c = Contiguous(s);
                var shapes = new long[outs][];
                var copies = new List<StridedCopy>();
                long start = 0;
                for (int i = 0; i < outs; i++)
                {
                    var o = s.ToArray(); o[a] = sizes[i];
                    shapes[i] = o;
                    copies.Add(new StridedCopy(0, start * c[a], c, i, 0, Contiguous(o), o));
                    start += sizes[i];
                }
                return (shapes, copies);
            }
            case "Concat":
            {
                int r = inShapes[0].Length;
                int a = Axis(n.Int("axis", 0), r, n);
                var outS = inShapes[0].ToArray();
                outS[a] = inShapes.Sum(x => x[a]);
                var dc = Contiguous(outS);
                var copies = new List<StridedCopy>();
                long at = 0;
                for (int i = 0; i < inShapes.Length; i++)
                {
                    if (Count(inShapes[i]) > 0)
                        copies.Add(new StridedCopy(i, 0, Contiguous(inShapes[i]), 0, at * dc[a], dc, inShapes[i]));
                    at += inShapes[i][a];
                }
                return ([outS], copies);
            }
            default: throw new EngineException($"node {n}: {n.Op} is not a layout op");
        }
    }

    static HostValue Need(HostValue? v, OpNode n, int input) =>
        v ?? throw new EngineException($"node {n}: input {input} ('{n.In(input)}') must be known when the engine plans a shape (it is computed from graph inputs' values)");

    public static long[] ShapeOf(OpNode n, long[][] inShapes, Func<int, HostValue?> param)
    {
        var s = inShapes[0];
        return n.Op switch
        {
            "Reshape" => Reshape(s, Need(param(1), n, 1).Longs, n),
            "Unsqueeze" => Unsqueeze(s, param(1)?.Longs ?? n.Ints("axes") ?? [], n),
            "Squeeze" => Squeeze(s, param(1)?.Longs ?? n.Ints("axes"), n),
            "Flatten" => Flatten(s, n.Int("axis", 1), n),
            _ => s,
        };
    }
}
