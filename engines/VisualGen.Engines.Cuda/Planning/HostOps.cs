using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>Plan-time evaluation of nodes whose inputs are all known on the host (shape arithmetic, constant tables).
/// Floats are computed in double and rounded to float32 per node, as an fp32 graph would.</summary>
public static class HostOps
{
    public static HostValue[] Eval(OpNode n, HostValue?[] inputs, Func<int, long[]?> shapeOf)
    {
        HostValue In(int i) => inputs[i] ?? throw new EngineException($"node {n}: input {i} ('{n.In(i)}') is not known at plan time");
        switch (n.Op)
        {
            case "Shape":
            {
                var s = shapeOf(0) ?? throw new EngineException($"node {n}: shape of its input is unknown");
                long r = s.Length, start = n.Int("start", 0), end = n.Int("end", r);
                if (start < 0) start += r; if (end < 0) end += r;
                start = Math.Clamp(start, 0, r); end = Math.Clamp(end, start, r);
                var d = s[(int)start..(int)end].Select(x => (double)x).ToArray();
                return [new HostValue([d.Length], d, true)];
            }
            case "Identity": return [In(0)];
            case "ReduceMax" or "ReduceSum" or "ReduceMean":
            {
                var x = In(0);
                int r = x.Shape.Length;
                var given = n.In(1) is not null ? In(1).Longs : n.Ints("axes") ?? [];
                var axes = (given.Length == 0 ? Enumerable.Range(0, r).Select(a => (long)a) : given).Select(a => (int)(a < 0 ? a + r : a)).ToHashSet();
                var kept = x.Shape.Select((d, i) => axes.Contains(i) ? 1L : d).ToArray();
                var xs = Layout.Contiguous(x.Shape);
                var ks = Layout.Contiguous(kept);
                bool max = n.Op == "ReduceMax";
                var o = Enumerable.Repeat(max ? double.NegativeInfinity : 0, (int)Layout.Count(kept)).ToArray();
                for (long i = 0; i < x.Count; i++)
                {
                    long at = 0;
                    for (int d = 0; d < r; d++) if (!axes.Contains(d)) at += i / xs[d] % x.Shape[d] * ks[d];
                    o[at] = max ? Math.Max(o[at], x.Data[i]) : o[at] + x.Data[i];
                }
                bool isInt = x.IsInt && n.Op != "ReduceMean";
                long count = x.Count / Math.Max(1, o.LongLength);
                for (int i = 0; i < o.Length; i++)
                {
                    if (n.Op == "ReduceMean") o[i] /= count;
                    if (!isInt && !x.IsF64) o[i] = (float)o[i];
                }
                var shape = n.Int("keepdims", 1) != 0 ? kept : x.Shape.Where((_, i) => !axes.Contains(i)).ToArray();
                return [new HostValue(shape, o, isInt, x.IsF64)];
            }
            case "Reshape" or "Unsqueeze" or "Squeeze" or "Flatten":
            {
                var x = In(0);
                return [new HostValue(Layout.ShapeOf(n, [x.Shape], i => i < inputs.Length ? inputs[i] : null), x.Data, x.IsInt)];
            }
            case "Transpose" or "Expand" or "Slice" or "Split" or "Concat":
            {
                var ins = n.Op == "Concat" ? inputs.Select((_, i) => In(i)).ToArray() : [In(0)];
                var (shapes, copies) = Layout.Copies(n, ins.Select(i => i.Shape).ToArray(), i => i < inputs.Length ? inputs[i] : null);
                var outs = shapes.Select(s => new double[Layout.Count(s)]).ToArray();
                foreach (var c in copies) Copy(c, ins[c.Src].Data, outs[c.Dst]);
                bool isInt = ins.All(i => i.IsInt);
                return shapes.Select((s, i) => new HostValue(s, outs[i], isInt)).ToArray();
            }
            case "Gather":
            {
                var x = In(0); var idx = In(1);
                int axis = (int)n.Int("axis", 0); if (axis < 0) axis += x.Shape.Length;
                long outer = Layout.Count(x.Shape[..axis]), inner = Layout.Count(x.Shape[(axis + 1)..]), dim = x.Shape[axis];
                var o = new double[outer * idx.Count * inner];
                for (long a = 0; a < outer; a++)
                    for (long j = 0; j < idx.Count; j++)
                    {
                        long id = (long)idx.Data[j]; if (id < 0) id += dim;
                        Array.Copy(x.Data, (a * dim + id) * inner, o, (a * idx.Count + j) * inner, inner);
                    }
                long[] shape = [.. x.Shape[..axis], .. idx.Shape, .. x.Shape[(axis + 1)..]];
                return [new HostValue(shape, o, x.IsInt)];
            }
            case "Cast":
            {
                var x = In(0); long to = n.Int("to", 1);
                bool toInt = to is 6 or 7 or 9, toF64 = to == 11;
                var d = x.Data.Select(v => toInt ? Math.Truncate(v) : toF64 ? v : (double)(float)v).ToArray();
                return [new HostValue(x.Shape, d, toInt, toF64)];
            }
            case "MatMul":
            {
                // [..., M, K] · [K, N] (the weight-free matmuls of position embeddings; weight GEMMs are VgLinear)
                var a = In(0); var b = In(1);
                if (a.Shape.Length < 2 || b.Shape.Length != 2 || a.Shape[^1] != b.Shape[0])
                    throw new EngineException($"node {n}: plan-time MatMul takes [..., M, K] x [K, N]; got [{string.Join(",", a.Shape)}] x [{string.Join(",", b.Shape)}]");
                long k = b.Shape[0], cols = b.Shape[1], rows = a.Count / k;
                bool f64 = a.IsF64 || b.IsF64;
                var o = new double[rows * cols];
                for (long r = 0; r < rows; r++)
                    for (long c = 0; c < cols; c++)
                    {
                        double acc = 0;
                        for (long j = 0; j < k; j++) acc += a.Data[r * k + j] * b.Data[j * cols + c];
                        o[r * cols + c] = f64 ? acc : (float)acc;
                    }
                return [new HostValue([.. a.Shape[..^1], cols], o, false, f64)];
            }
            case "ArgMax":
            {
                var x = In(0);
                var (outer, len, inner, shape) = ArgMaxShape(n, x.Shape);
                bool last = n.Int("select_last_index", 0) != 0;
                var o = new double[outer * inner];
                for (long a = 0; a < outer; a++)
                    for (long i = 0; i < inner; i++)
                    {
                        long best = 0;
                        for (long j = 1; j < len; j++)
                        {
                            double v = x.Data[(a * len + j) * inner + i], m = x.Data[(a * len + best) * inner + i];
                            if (v > m || (last && v == m)) best = j;
                        }
                        o[a * inner + i] = best;
                    }
                return [new HostValue(shape, o, true)];
            }
            case "GatherND":
            {
                var x = In(0); var idx = In(1);
                var (batch, count, k, slice, shape) = GatherNdShape(n, x.Shape, idx.Shape);
                long per = Layout.Count(x.Shape[(int)n.Int("batch_dims", 0)..]);
                var strides = Layout.Contiguous(x.Shape[(int)n.Int("batch_dims", 0)..]);
                var o = new double[batch * count * slice];
                for (long b = 0; b < batch; b++)
                    for (long j = 0; j < count; j++)
                    {
                        long at = b * per;
                        for (int t = 0; t < k; t++)
                        {
                            long id = (long)idx.Data[(b * count + j) * k + t];
                            long dim = x.Shape[(int)n.Int("batch_dims", 0) + t];
                            if (id < 0) id += dim;
                            at += id * strides[t];
                        }
                        Array.Copy(x.Data, at, o, (b * count + j) * slice, slice);
                    }
                return [new HostValue(shape, o, x.IsInt, x.IsF64)];
            }
            case "CumSum":
            {
                // running sums along one axis (Qwen2.5-VL's positions from a plan-time attention_mask); exclusive and
                // reverse as ONNX defines them; float32 sums rounded after each addition, as an fp32 kernel would
                var x = In(0);
                int axis = (int)In(1).Data[0]; if (axis < 0) axis += x.Shape.Length;
                if (axis < 0 || axis >= x.Shape.Length) throw new EngineException($"node {n}: CumSum axis {In(1).Data[0]} of [{string.Join(",", x.Shape)}] is out of range");
                bool exclusive = n.Int("exclusive", 0) != 0, reverse = n.Int("reverse", 0) != 0, round = !x.IsInt && !x.IsF64;
                long outer = Layout.Count(x.Shape[..axis]), len = x.Shape[axis], inner = Layout.Count(x.Shape[(axis + 1)..]);
                var o = new double[x.Count];
                for (long a = 0; a < outer; a++)
                    for (long i = 0; i < inner; i++)
                    {
                        double acc = 0;
                        for (long step = 0; step < len; step++)
                        {
                            long j = reverse ? len - 1 - step : step, at = (a * len + j) * inner + i;
                            if (exclusive) { o[at] = acc; acc += x.Data[at]; }
                            else { acc += x.Data[at]; o[at] = acc; }
                            if (round) acc = (float)acc;
                            if (round) o[at] = (float)o[at];
                        }
                    }
                return [new HostValue(x.Shape, o, x.IsInt, x.IsF64)];
            }
            case "ConstantOfShape":
            {
                var s = In(0).Longs;
                return [new HostValue(s, new double[Layout.Count(s)], false)];
            }
            case "Range":
            {
                double start = In(0).Data[0], limit = In(1).Data[0], delta = In(2).Data[0];
                long count = Math.Max(0, (long)Math.Ceiling((limit - start) / delta));
                return [new HostValue([count], Enumerable.Range(0, (int)count).Select(i => start + i * delta).ToArray(), In(0).IsInt)];
            }
        }
        if (n.Op is "Equal" or "Less" or "LessOrEqual" or "Greater" or "GreaterOrEqual")
        {
            var a = In(0); var b = In(1);
            return [Broadcast(n, [a, b], v => n.Op switch
            {
                "Equal" => v[0] == v[1] ? 1 : 0, "Less" => v[0] < v[1] ? 1 : 0, "LessOrEqual" => v[0] <= v[1] ? 1 : 0,
                "Greater" => v[0] > v[1] ? 1 : 0, _ => v[0] >= v[1] ? 1 : 0,
            }, isInt: true, f64: false)];
        }
        if (n.Op is "Or" or "And" or "Xor")
        {
            var a = In(0); var b = In(1);
            return [Broadcast(n, [a, b], v => n.Op switch
            {
                "Or" => v[0] != 0 || v[1] != 0 ? 1 : 0, "And" => v[0] != 0 && v[1] != 0 ? 1 : 0, _ => (v[0] != 0) != (v[1] != 0) ? 1 : 0,
            }, isInt: true, f64: false)];
        }
        if (n.Op == "Not")
        {
            var x = In(0);
            return [new HostValue(x.Shape, x.Data.Select(v => v == 0 ? 1.0 : 0.0).ToArray(), true)];
        }
        if (n.Op == "Where")
        {
            var c = In(0); var x = In(1); var y = In(2);
            return [Broadcast(n, [c, x, y], v => v[0] != 0 ? v[1] : v[2], isInt: x.IsInt && y.IsInt, f64: x.IsF64 || y.IsF64)];
        }
        if (OpRegistry.Binary.ContainsKey(n.Op))
        {
            var a = In(0); var b = In(1);
            bool isInt = a.IsInt && b.IsInt, f64 = a.IsF64 || b.IsF64;
            return [Broadcast(n, [a, b], v =>
            {
                double x = v[0], y = v[1];
                double r = n.Op switch
                {
                    "Add" => x + y, "Sub" => x - y, "Mul" => x * y,
                    "Div" => isInt ? Math.Floor(x / y) : x / y,
                    "Pow" => Math.Pow(x, y), "Max" => Math.Max(x, y), _ => Math.Min(x, y),
                };
                return isInt || f64 ? r : (float)r;
            }, isInt, f64)];
        }
        if (OpRegistry.Unary.ContainsKey(n.Op))
        {
            var x = In(0);
            Func<double, double> f = n.Op switch
            {
                "Sin" => Math.Sin, "Cos" => Math.Cos, "Exp" => Math.Exp, "Sigmoid" => v => 1 / (1 + Math.Exp(-v)), "Neg" => v => -v,
                "Sqrt" => Math.Sqrt, "Tanh" => Math.Tanh, "Reciprocal" => v => 1 / v, "Abs" => Math.Abs, "Relu" => v => Math.Max(v, 0),
                "Log" => Math.Log,
                _ => throw new EngineException($"node {n}: {n.Op} is not evaluated at plan time; its inputs must come from the device"),
            };
            return [new HostValue(x.Shape, x.Data.Select(v => x.IsF64 ? f(v) : (double)(float)f(v)).ToArray(), false, x.IsF64)];
        }
        throw new EngineException($"node {n}: {n.Op} cannot be computed at plan time");
    }

    /// <summary>ArgMax over one axis as [outer, len, inner], and the output shape (the axis kept as 1 or dropped).</summary>
    public static (long Outer, long Len, long Inner, long[] Shape) ArgMaxShape(OpNode n, long[] x)
    {
        int axis = (int)n.Int("axis", 0); if (axis < 0) axis += x.Length;
        if (axis < 0 || axis >= x.Length || x[axis] == 0) throw new EngineException($"node {n}: ArgMax axis {n.Int("axis", 0)} of [{string.Join(",", x)}] is out of range or empty");
        long[] shape = n.Int("keepdims", 1) != 0 ? [.. x[..axis], 1, .. x[(axis + 1)..]] : [.. x[..axis], .. x[(axis + 1)..]];
        return (Layout.Count(x[..axis]), x[axis], Layout.Count(x[(axis + 1)..]), shape);
    }

    /// <summary>GatherND's geometry: batch items (the first batch_dims axes, shared), index tuples per batch item, tuple
    /// length k, the elements of one gathered slice, and the output shape.</summary>
    public static (long Batch, long Count, int K, long Slice, long[] Shape) GatherNdShape(OpNode n, long[] data, long[] indices)
    {
        int b = (int)n.Int("batch_dims", 0);
        if (indices.Length < 1 || indices.Length <= b || data.Length <= b) throw new EngineException($"node {n}: GatherND of [{string.Join(",", data)}] by [{string.Join(",", indices)}] with batch_dims {b} is malformed");
        int k = (int)indices[^1];
        if (k < 1 || b + k > data.Length || !data[..b].SequenceEqual(indices[..b]))
            throw new EngineException($"node {n}: GatherND of [{string.Join(",", data)}] by [{string.Join(",", indices)}] with batch_dims {b}: the batch dims differ or the index tuples are too long");
        long[] shape = [.. indices[..^1], .. data[(b + k)..]];
        return (Layout.Count(data[..b]), Layout.Count(indices[b..^1]), k, Layout.Count(data[(b + k)..]), shape);
    }

    /// <summary>An elementwise function of broadcast inputs (numpy rules), values as the inputs hold them.</summary>
    static HostValue Broadcast(OpNode n, HostValue[] ins, Func<double[], double> f, bool isInt, bool f64)
    {
        var shape = ins.Skip(1).Aggregate(ins[0].Shape, (s, v) => Layout.Broadcast(s, v.Shape, n.ToString()));
        var strides = ins.Select(v => Layout.BroadcastStrides(v.Shape, shape)).ToArray();
        var o = new double[Layout.Count(shape)];
        var vals = new double[ins.Length];
        var offsets = new long[ins.Length];
        for (long i = 0; i < o.Length; i++)
        {
            Array.Clear(offsets);
            long rem = i;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                long c = rem % shape[d];
                rem /= shape[d];
                for (int k = 0; k < ins.Length; k++) offsets[k] += c * strides[k][d];
            }
            for (int k = 0; k < ins.Length; k++) vals[k] = ins[k].Data[offsets[k]];
            o[i] = f(vals);
        }
        return new HostValue(shape, o, isInt, f64);
    }

    static void Copy(StridedCopy c, double[] src, double[] dst)
    {
        long total = Layout.Count(c.Sizes);
        int r = c.Sizes.Length;
        for (long i = 0; i < total; i++)
        {
            long rem = i, os = c.SrcOffset, od = c.DstOffset;
            for (int d = r - 1; d >= 0; d--) { long k = rem % c.Sizes[d]; rem /= c.Sizes[d]; os += k * c.SrcStrides[d]; od += k * c.DstStrides[d]; }
            dst[od] = src[os];
        }
    }
}
