using VisualGen.Checkpoints;
using VisualGen.Tensors;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// Plans one concrete set of input shapes: folds everything computable from shapes and constants on the host
/// (shape arithmetic, the RoPE tables of the latent grid), turns every other node into device steps with
/// bf16 activations (fp32 for small per-batch tensors, norm statistics and modulation), and leaves memory
/// assignment to <see cref="MemoryPlanner"/>.
/// </summary>
internal sealed unsafe partial class ShapePlanner
{
    readonly OpGraph _g;
    readonly EngineResources _res;
    readonly ShapePlan _plan;
    readonly Dictionary<string, HostValue> _host = new(StringComparer.Ordinal);
    readonly Dictionary<string, DeviceValue> _dev = new(StringComparer.Ordinal);
    readonly Dictionary<(string, VgDType), DeviceValue> _casts = [];
    int _tmp;

    /// <summary>Device values that hold integers: int64 graph inputs (as int64), comparison results (1.0/0.0 in float32),
    /// ArgMax indices (int64), and integer Casts and views of these. A Cast to int32/int64 of one is a view (the values
    /// are already integers); a Cast of any other float tensor to an integer type is refused.</summary>
    readonly HashSet<string> _integral = new(StringComparer.Ordinal);

    /// <summary>Values used as attention masks: kept float32 (a bf16 mask would round the relative position bias).</summary>
    readonly HashSet<string> _maskValues;

    ShapePlanner(OpGraph g, EngineResources res, ShapePlan plan)
    {
        _g = g; _res = res; _plan = plan;
        _maskValues = g.Nodes.Where(n => n.Op == "Attention" && n.In(3) is not null).Select(n => n.In(3)!).ToHashSet(StringComparer.Ordinal);
    }

    /// <param name="planTimeValues">The values of the graph's plan-time inputs (<see cref="OpPort.PlanTime"/>).</param>
    public static ShapePlan Plan(OpGraph g, EngineResources res, IReadOnlyDictionary<string, long[]> inputShapes,
        IReadOnlyDictionary<string, HostTensor>? planTimeValues = null)
    {
        var plan = new ShapePlan(res);
        try
        {
            var p = new ShapePlanner(g, res, plan);
            p.Build(inputShapes, planTimeValues ?? new Dictionary<string, HostTensor>());
            MemoryPlanner.Assign(plan, allocate: !res.DryRun);
            if (!res.DryRun) plan.UploadConstants();
            return plan;
        }
        catch
        {
            plan.Dispose();
            throw;
        }
    }

    void Build(IReadOnlyDictionary<string, long[]> inputShapes, IReadOnlyDictionary<string, HostTensor> planTimeValues)
    {
        foreach (var i in _g.Inputs)
        {
            if (i.PlanTime)
            {
                var t = planTimeValues.TryGetValue(i.Name, out var value) ? value
                    : throw new EngineException($"input '{i.Name}' is read when a shape is planned, and its values were not given");
                var data = t.DType == TensorDType.I64 ? t.Longs.Select(x => (double)x).ToArray() : t.Floats.Select(x => (double)x).ToArray();
                _host[i.Name] = new HostValue(t.Shape, data, t.DType == TensorDType.I64);
                continue;
            }
            if (!inputShapes.TryGetValue(i.Name, out var s)) throw new EngineException($"input '{i.Name}' is missing");
            if (i.DType is not (TensorDType.F32 or TensorDType.I64)) throw new EngineException($"input '{i.Name}' has type {i.DType}; the native CUDA engine takes float32 and int64 inputs");
            var v = new DeviceValue(i.Name, s, i.DType == TensorDType.I64 ? VgDType.I64 : VgDType.F32) { Persistent = true, Def = -1 };
            _dev[i.Name] = v;
            _plan.Inputs[i.Name] = v;
            _plan.Values.Add(v);
        }
        foreach (var n in _g.Nodes) Node(n);
        var claimed = new HashSet<DeviceValue>();
        foreach (var o in _g.Outputs)
        {
            DeviceValue v;
            if (_dev.TryGetValue(o.Name, out var d)) v = OwnsItsBuffer(d, claimed) ? d : Cast(d, VgDType.F32, forceCopy: true);
            else if (_host.TryGetValue(o.Name, out var h)) v = Cast(UploadHost(h, o.Name), VgDType.F32, forceCopy: true);
            else throw new EngineException($"graph output '{o.Name}' is never computed");
            v.Root.Persistent = true;
            claimed.Add(v.Root);
            _plan.Outputs[o.Name] = v;
        }
        PlaceOutputsInDeadInputs();
    }

    /// <summary>Each graph input is copied in before every run and is dead after its last read: an output of the same
    /// bytes whose first write comes later takes its buffer. A chunked VAE's feature cache (inputs <c>cache.X</c>,
    /// outputs <c>cache_out.X</c>) is then updated in place instead of being held twice. (A rerun without new inputs, as
    /// the timing calls do, then reads the last run's outputs.)</summary>
    void PlaceOutputsInDeadInputs()
    {
        var free = _plan.Inputs.Values.Where(i => i.Alias is null).ToList();
        foreach (var o in _plan.Outputs.Values.Select(o => o.Root).Distinct())
        {
            if (o.Def < 0 || _plan.Inputs.ContainsValue(o) || o.Reuses is not null) continue;
            var input = free.FirstOrDefault(i => i.Bytes == o.Bytes && i.LastUse < o.Def);
            if (input is null) continue;
            o.Reuses = input;
            free.Remove(input);
        }
    }

    /// <summary>A float32 value computed by this plan, alone in its buffer (no graph input, constant or other output
    /// shares it), becomes the output buffer itself instead of being copied into one: the Wan VAE decoder's feature
    /// caches (about 3.9 GB at 480×832) would otherwise be held twice, once in the arena until the end and once as
    /// outputs. Steps only write a value when they define it, so nothing overwrites it after.</summary>
    static bool OwnsItsBuffer(DeviceValue d, HashSet<DeviceValue> claimed) =>
        d.DType == VgDType.F32 && d.Root.DType == VgDType.F32 && d.Count == d.Root.Count && !d.Root.Persistent && !claimed.Contains(d.Root);

    // ---- values ------------------------------------------------------------------------------------------
    HostValue? HostOf(string? name)
    {
        if (name is null) return null;
        if (_host.TryGetValue(name, out var h)) return h;
        if (_g.Constants.TryGetValue(name, out var c) && c.DType is TensorDType.F32 or TensorDType.F64 or TensorDType.I64 or TensorDType.I32 or TensorDType.BF16 or TensorDType.F16 && c.Count <= (1 << 24))
        {
            h = new HostValue(c.Shape, c.ToDoubles(), c.DType is TensorDType.I64 or TensorDType.I32, c.DType == TensorDType.F64);
            _host[name] = h;
            return h;
        }
        return null;
    }

    bool IsHost(string? name) => name is null || _host.ContainsKey(name) || (!_dev.ContainsKey(name) && HostOf(name) is not null);

    long[] ShapeOfValue(string name) =>
        _dev.TryGetValue(name, out var d) ? d.Shape : HostOf(name)?.Shape ?? throw new EngineException($"value '{name}' is not computed before use");

    DeviceValue Dev(string name, VgDType? want = null)
    {
        if (!_dev.TryGetValue(name, out var d))
        {
            var h = HostOf(name) ?? throw new EngineException($"value '{name}' is not computed before use");
            if (h.IsInt) throw new EngineException($"value '{name}' is an integer tensor used by a device op; the native CUDA engine computes integer tensors only at plan time");
            d = UploadHost(h, name);
            _dev[name] = d;
        }
        return want is VgDType w ? Cast(d, w) : d;
    }

    DeviceValue UploadHost(HostValue h, string name)
    {
        var v = new DeviceValue(name + "#const", h.Shape, VgDType.F32) { Persistent = true };
        _plan.Values.Add(v);
        _plan.HostUploads.Add((v, h.Data.Select(x => (float)x).ToArray()));
        return v;
    }

    DeviceValue New(string name, long[] shape, VgDType dtype)
    {
        var v = new DeviceValue(name, shape, dtype);
        _plan.Values.Add(v);
        return v;
    }

    DeviceValue Temp(long[] shape, VgDType dtype) => New($"tmp{_tmp++}", shape, dtype);

    void Use(params DeviceValue?[] vs) { foreach (var v in vs) if (v is not null) v.Root.LastUse = Math.Max(v.Root.LastUse, _plan.Steps.Count); }

    void Add(Step s, DeviceValue[] reads, DeviceValue[] writes)
    {
        Use(reads);
        foreach (var w in writes) { if (w.Root.Def < 0 && !w.Root.Persistent) w.Root.Def = _plan.Steps.Count; Use(w); }
        _plan.Steps.Add(s);
    }

    DeviceValue Cast(DeviceValue v, VgDType to, bool forceCopy = false)
    {
        if (v.DType == to && !forceCopy) return v;
        if (!forceCopy && _casts.TryGetValue((v.Name, to), out var c)) return c;
        var o = New(v.Name + "#" + to, v.Shape, to);
        Nd("cast " + v.Name, KernelClass.Other, 0, v.Shape, o, 0, Layout.Contiguous(v.Shape), v, 0, Layout.Contiguous(v.Shape), null, 0, null);
        if (!forceCopy) _casts[(v.Name, to)] = o;
        return o;
    }

    /// <summary>bf16 for large activations, fp32 for small tensors (per-batch vectors, embeddings).</summary>
    VgDType ActDType(long rows) => rows >= _res.Bf16MinRows ? VgDType.BF16 : VgDType.F32;

    // ---- the generic N-d step --------------------------------------------------------------------------
    void Nd(string name, KernelClass kind, int op, long[] sizes, DeviceValue o, long oOff, long[] oSt, DeviceValue a, long aOff, long[] aSt,
        DeviceValue? b, long bOff, long[]? bSt)
    {
        if (sizes.Length > MaxRank) throw new EngineException($"{name}: rank {sizes.Length} exceeds the engine's {MaxRank}");
        long[] sz = sizes.ToArray(), os = oSt.ToArray(), ast = aSt.ToArray(), bs = bSt?.ToArray() ?? [];
        Add(new ActionStep(name, kind, stream =>
        {
            NdTensor to = default, ta = default, tb = default;
            to.Ptr = o.Ptr + (nint)(oOff * o.ElementSize); to.DType = (int)o.DType;
            ta.Ptr = a.Ptr + (nint)(aOff * a.ElementSize); ta.DType = (int)a.DType;
            for (int i = 0; i < sz.Length; i++) { to.Strides[i] = os[i]; ta.Strides[i] = ast[i]; }
            if (b is not null)
            {
                tb.Ptr = b.Ptr + (nint)(bOff * b.ElementSize); tb.DType = (int)b.DType;
                for (int i = 0; i < sz.Length; i++) tb.Strides[i] = bs[i];
            }
            fixed (long* ps = sz)
                Check(vg_nd(op, sz.Length, ps, &to, &ta, b is null ? null : &tb, stream), name);
        }), b is null ? [a] : [a, b], [o]);
    }

    // ---- nodes ---------------------------------------------------------------------------------------
    void Node(OpNode n)
    {
        bool fused = OpRegistry.Fused.Contains(n.Op);
        if (!fused && (OpRegistry.HostOnly.Contains(n.Op) || n.Inputs.All(IsHost)))
        {
            if (LargeTableGather(n)) { DeviceTableGather(n); return; }
            var outs = HostOps.Eval(n, n.Inputs.Select(HostOf).ToArray(), i => n.In(i) is string s ? ShapeOfValue(s) : null);
            for (int i = 0; i < outs.Length; i++) _host[n.Outputs[i]] = outs[i];
            return;
        }
        if (OpRegistry.Views.Contains(n.Op)) { View(n); return; }
        if (OpRegistry.LayoutCopies.Contains(n.Op)) { LayoutCopy(n); return; }
        if (n.Op == "Equal") { Equal(n); return; }
        if (OpRegistry.Binary.TryGetValue(n.Op, out int bop)) { Binary(n, bop); return; }
        if (OpRegistry.Unary.TryGetValue(n.Op, out int uop)) { Unary(n, uop); return; }
        switch (n.Op)
        {
            case "VgLinear": Linear(n); return;
            case "VgQuantLinear": QuantLinear(n); return;
            case "VgPatchConv": PatchConv(n); return;
            case "VgNorm": Norm(n); return;
            case "VgRmsNormRope": RmsNormRope(n); return;
            case "VgGatedResidual": GatedResidual(n); return;
            case "VgRopeRotateHalf": RopeRotateHalf(n); return;
            case "VgSiluMul": Binary(n, SiluMulOp); return;
            case "VgSwiGlu": SwiGlu(n); return;
            case "Attention": Attention(n); return;
            case "Conv": Conv(n); return;
            case "Pad": Pad(n); return;
            case "VgChannelNorm": ChannelNorm(n); return;
            case "VgGather": GatherRows(n); return;
            case "ReduceMean" or "ReduceSum" or "ReduceMax": Reduce(n); return;
            case "LeakyRelu": LeakyRelu(n); return;
            case "Where": Where(n); return;
            case "VgZeroStuff": ZeroStuff(n); return;
            case "VgGroupNorm": GroupNorm(n); return;
            case "ArgMax": ArgMax(n); return;
            case "GatherND": GatherNd(n); return;
        }
        throw new EngineException($"node '{n.Name}' (op {n.Op}) cannot run on the device");
    }

    void View(OpNode n)
    {
        var x = Dev(n.In(0)!);
        var shape = Layout.ShapeOf(n, [x.Shape], i => HostOf(n.In(i)));
        _dev[n.Outputs[0]] = new DeviceValue(n.Outputs[0], shape, x.DType, x);
        if (_integral.Contains(n.In(0)!)) _integral.Add(n.Outputs[0]);
    }

    void LayoutCopy(OpNode n)
    {
        var ins = n.Op == "Concat" ? n.Inputs.Select(i => Dev(i!)).ToArray() : [Dev(n.In(0)!)];
        var dtype = ins.All(i => i.DType == VgDType.BF16) ? VgDType.BF16 : VgDType.F32;
        var (shapes, copies) = Layout.Copies(n, ins.Select(i => i.Shape).ToArray(), i => HostOf(n.In(i)));
        var outs = shapes.Select((s, i) => New(n.Outputs[i], s, dtype)).ToArray();
        foreach (var c in copies)
            Nd(n.Name, KernelClass.Other, 0, c.Sizes, outs[c.Dst], c.DstOffset, c.DstStrides, ins[c.Src], c.SrcOffset, c.SrcStrides, null, 0, null);
        for (int i = 0; i < outs.Length; i++) _dev[n.Outputs[i]] = outs[i];
    }

    void Binary(OpNode n, int op)
    {
        var a = Dev(n.In(0)!); var b = Dev(n.In(1)!);
        var shape = Layout.Broadcast(a.Shape, b.Shape, n.ToString());
        long rows = shape.Length > 0 ? Layout.Count(shape) / shape[^1] : 1;
        var dt = (a.DType == VgDType.BF16 || b.DType == VgDType.BF16) && !_maskValues.Contains(n.Outputs[0]) ? ActDType(rows) : VgDType.F32;
        if (n.Op == "Add" && a.Shape.SequenceEqual(b.Shape) && TryResidualNorm(n, a, b, null, dt)) return;
        var o = New(n.Outputs[0], shape, dt);
        Nd(n.Name, KernelClass.Other, op, shape, o, 0, Layout.Contiguous(shape), a, 0, Layout.BroadcastStrides(a.Shape, shape), b, 0, Layout.BroadcastStrides(b.Shape, shape));
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>Where(cond, x, y) on the device: the output filled with y, then x copied where cond is nonzero
    /// (VG_ND_COPY_WHERE), every input broadcast. Folded at plan time instead when all three are known there.</summary>
    void Where(OpNode n)
    {
        // a plan-time condition (bool) or branch is uploaded as float32: exact for the 0/1 and small integer values they hold
        DeviceValue In(int i) => _dev.TryGetValue(n.In(i)!, out var d) ? d : UploadHost(HostOf(n.In(i)) ?? throw new EngineException($"value '{n.In(i)}' is not computed before use"), n.In(i)!);
        var c = In(0); var x = In(1); var y = In(2);
        var shape = Layout.Broadcast(Layout.Broadcast(c.Shape, x.Shape, n.ToString()), y.Shape, n.ToString());
        long rows = shape.Length > 0 ? Layout.Count(shape) / shape[^1] : 1;
        var dt = x.DType == VgDType.BF16 || y.DType == VgDType.BF16 ? ActDType(rows) : VgDType.F32;
        var o = New(n.Outputs[0], shape, dt);
        var os = Layout.Contiguous(shape);
        Nd(n.Name + "/else", KernelClass.Other, 0, shape, o, 0, os, y, 0, Layout.BroadcastStrides(y.Shape, shape), null, 0, null);
        Nd(n.Name, KernelClass.Other, 10, shape, o, 0, os, x, 0, Layout.BroadcastStrides(x.Shape, shape), c, 0, Layout.BroadcastStrides(c.Shape, shape));
        _dev[n.Outputs[0]] = o;
        if (_integral.Contains(n.In(1)!) && _integral.Contains(n.In(2)!)) _integral.Add(n.Outputs[0]);
    }

    void Unary(OpNode n, int op)
    {
        var a = Dev(n.In(0)!);
        var dt = a.DType == VgDType.I64 ? VgDType.F32 : a.DType;
        if (n.Op == "Cast")
        {
            long to = n.Int("to", 1);
            if (to is 6 or 7)
            {
                // int32/int64 of integer values (token ids, 0/1 comparisons, indices): the same values, a view
                if (a.DType != VgDType.I64 && !_integral.Contains(n.In(0)!))
                    throw new EngineException($"node '{n.Name}' (Cast): a float tensor to ONNX type {to} on the device is not supported (only integer values: int64 inputs, comparisons, ArgMax)");
                _dev[n.Outputs[0]] = new DeviceValue(n.Outputs[0], a.Shape, a.DType, a);
                _integral.Add(n.Outputs[0]);
                return;
            }
            if (to is not (1 or 16 or 10)) throw new EngineException($"node '{n.Name}' (Cast) to ONNX type {to} on the device is not supported (float types only)");
            dt = to == 1 ? VgDType.F32 : VgDType.BF16;
        }
        if (n.Op == "Gelu" && n.Text("approximate", "none") != "tanh") op = 27;
        var o = New(n.Outputs[0], a.Shape, dt);
        var c = Layout.Contiguous(a.Shape);
        Nd(n.Name, KernelClass.Other, op, a.Shape, o, 0, c, a, 0, c, null, 0, null);
        _dev[n.Outputs[0]] = o;
    }

    // ---- GEMM ------------------------------------------------------------------------------------------
    void Linear(OpNode n)
    {
        var x = Dev(n.In(0)!, VgDType.BF16);
        long k = n.Int("k", 0), nn = n.Int("n", 0);
        if (x.Shape[^1] != k) throw new EngineException($"node '{n.Name}' (MatMul): input has {x.Shape[^1]} features, the weight {k}");
        long m = x.Count / k;
        var shape = x.Shape.ToArray(); shape[^1] = nn;
        var o = New(n.Outputs[0], shape, ActDType(m));
        Gemm(n.Name, x, n.In(1)!, n.In(2), (int)n.Int("epilogue", 0), m, nn, k, o);
        _dev[n.Outputs[0]] = o;
    }

    void Gemm(string name, DeviceValue a, string weight, string? bias, int epilogue, long m, long n, long k, DeviceValue o)
    {
        if (k % 8 != 0 || n % 8 != 0) { UnalignedLinear(name, a, weight, bias, epilogue, m, n, k, o); return; }
        var plan = _res.GemmPlan(m, n, k, epilogue, o.DType);
        IntPtr w = _res.Weight(weight);
        DeviceValue? b = bias is null ? null : Cast(Dev(bias), o.DType);
        Add(new ActionStep(name, KernelClass.Gemm, stream =>
            Check(vg_gemm_run(plan.Handle.Ptr, a.Ptr, w, b?.Ptr ?? IntPtr.Zero, IntPtr.Zero, o.Ptr, _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), name)),
            b is null ? [a] : [a, b], [o]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        _plan.Gemms.Add((plan, a, w, b, o));
    }

    void PatchConv(OpNode n)
    {
        var x = Dev(n.In(0)!);
        long[] kernel = n.Ints("kernel")!;
        int sp = kernel.Length;
        if (x.Shape.Length != sp + 2) throw new EngineException($"node '{n.Name}' (Conv): input rank {x.Shape.Length}, kernel rank {sp}");
        long batch = x.Shape[0], ch = x.Shape[1], nOut = n.Int("n", 0);
        var outSp = new long[sp];
        for (int i = 0; i < sp; i++)
        {
            if (x.Shape[2 + i] % kernel[i] != 0) throw new EngineException($"node '{n.Name}' (Conv): spatial size {x.Shape[2 + i]} is not a multiple of the kernel {kernel[i]}");
            outSp[i] = x.Shape[2 + i] / kernel[i];
        }
        long l = Layout.Count(outSp), kk = ch * Layout.Count(kernel);
        // im2col: [B, o..., C, k...] ← x[b, c, o_i*k_i + j_i]
        var xs = Layout.Contiguous(x.Shape);
        var sizes = new List<long> { batch }; var st = new List<long> { xs[0] };
        for (int i = 0; i < sp; i++) { sizes.Add(outSp[i]); st.Add(xs[2 + i] * kernel[i]); }
        sizes.Add(ch); st.Add(xs[1]);
        for (int i = 0; i < sp; i++) { sizes.Add(kernel[i]); st.Add(xs[2 + i]); }
        var cols = Temp([batch * l, kk], VgDType.BF16);
        Nd(n.Name + "/im2col", KernelClass.Other, 0, sizes.ToArray(), cols, 0, Layout.Contiguous(sizes.ToArray()), x, 0, st.ToArray(), null, 0, null);
        var dt = ActDType(batch * l);
        var y = Temp([batch * l, nOut], dt);
        Gemm(n.Name, cols, n.In(1)!, n.In(2), n.In(2) is null ? 0 : 1, batch * l, nOut, kk, y);
        long[] outShape = [batch, nOut, .. outSp];
        var o = New(n.Outputs[0], outShape, dt);
        Nd(n.Name + "/to_ncdhw", KernelClass.Other, 0, [batch, nOut, l], o, 0, [nOut * l, l, 1], y, 0, [l * nOut, 1, nOut], null, 0, null);
        _dev[n.Outputs[0]] = o;
    }

    // ---- norms -----------------------------------------------------------------------------------------
    RowVector RowVec(DeviceValue? v, long[] xShape, string node)
    {
        if (v is null) return default;
        long c = xShape[^1];
        long tokens = xShape.Length >= 3 ? xShape[^2] : 1;
        var s = v.Shape;
        if (s.Length == 0 || s[^1] != c) throw new EngineException($"node '{node}': modulation vector {v} does not end in {c} channels");
        long t = s.Length >= 2 ? s[^2] : 1;
        long b = s.Length >= 3 ? Layout.Count(s[..^2]) : 1;
        if ((t != 1 && t != tokens) || (b != 1 && b != Layout.Count(xShape) / c / tokens))
            throw new EngineException($"node '{node}': modulation vector {v} does not broadcast over [{string.Join(",", xShape)}] as per-batch or per-token rows");
        return new RowVector { Ptr = IntPtr.Zero, DType = (int)v.DType, BatchStride = b == 1 ? 0 : t * c, TokenStride = t == 1 ? 0 : c };
    }

    /// <summary>A norm node's parameters as its kernels take them: affine weight and bias, the modulation's scale and shift
    /// with their row-vector layouts over the input, kind and epsilon.</summary>
    readonly record struct NormInputs(DeviceValue? Weight, DeviceValue? Bias, DeviceValue? Scale, DeviceValue? Shift,
        RowVector ScaleRows, RowVector ShiftRows, int Kind, float Eps)
    {
        /// <summary>The modulation's row vectors with their device pointers, when a step runs.</summary>
        public (RowVector Scale, RowVector Shift) Bound()
        {
            RowVector s = ScaleRows, h = ShiftRows;
            s.Ptr = Scale?.Ptr ?? IntPtr.Zero; h.Ptr = Shift?.Ptr ?? IntPtr.Zero;
            return (s, h);
        }

        /// <summary>What a step with this norm reads: <paramref name="inputs"/> and the parameters given.</summary>
        public DeviceValue[] Reads(params DeviceValue?[] inputs) =>
            inputs.Concat([Weight, Bias, Scale, Shift]).Where(v => v is not null).ToArray()!;
    }

    NormInputs NormInputsOf(OpNode n, long[] xShape)
    {
        var scale = n.In(3) is string ss ? Dev(ss) : null;
        var shift = n.In(4) is string hs ? Dev(hs) : null;
        return new NormInputs(n.In(1) is string ws ? Dev(ws, VgDType.F32) : null, n.In(2) is string bs ? Dev(bs, VgDType.F32) : null,
            scale, shift, RowVec(scale, xShape, n.Name), RowVec(shift, xShape, n.Name), (int)n.Int("kind", 0), (float)n.Float("epsilon", 1e-5));
    }

    /// <summary>The FP8 codes and row scales a norm writes for the linears that read it (<see cref="NormReadByFp8RowLinears"/>),
    /// registered as its output's per-row quantized form; the output itself then exists only as a shape stand-in.</summary>
    (DeviceValue Codes, DeviceValue Scales) NormFp8Rows(OpNode norm, long[] shape, long rows, long c)
    {
        var xq = Temp([rows, c], VgDType.FP8E4M3);
        var xs = Temp([rows], VgDType.F32);
        CodesOnly(norm.Outputs[0], Fp8RowsForm, xq, xs, shape, rows);
        return (xq, xs);
    }

    void Norm(OpNode n)
    {
        if (_normsWithResidual.Contains(n)) return;  // planned with the residual it reads (TryResidualNorm)
        var x = Dev(n.In(0)!);
        long c = x.Shape[^1], rows = x.Count / c, tokens = x.Shape.Length >= 3 ? x.Shape[^2] : rows;
        var p = NormInputsOf(n, x.Shape);
        if (p.Kind == 1 && p.Bias is null && p.Scale is null && SageNormCandidate(n, x, out _, out _))
        {
            // a weight-only RMSNorm across heads before a Sage attention's q (Wan's cross-attention): its attention plans it
            DeferNorm(n, x, p.Weight, 1, p.Eps, null, null, () => { PlainNorm(n, x, p, c, rows, tokens); return _dev[n.Outputs[0]]; });
            return;
        }
        if (NormReadByFp8RowLinears(n, x, c, rows))
        {
            // the linears' FP8 codes and row scales straight from the norm: no bf16 output, no quantization pass
            var (xq, xs) = NormFp8Rows(n, x.Shape, rows, c);
            Add(new ActionStep(n.Name + "/fp8_rows", KernelClass.NormRope, stream =>
            {
                var (s1, s2) = p.Bound();
                Check(vg_norm_modulate_fp8_rows(p.Kind, x.Ptr, (int)x.DType, c, xq.Ptr, xs.Ptr, rows, tokens, c, p.Eps,
                    p.Weight?.Ptr ?? IntPtr.Zero, p.Bias?.Ptr ?? IntPtr.Zero, 0, p.Scale is null ? null : &s1, p.Shift is null ? null : &s2, stream), n.Name);
            }), p.Reads(x), [xq, xs]);
            return;
        }
        PlainNorm(n, x, p, c, rows, tokens);
    }

    /// <summary>The norm's step with a bf16 (or fp32, small) output.</summary>
    void PlainNorm(OpNode n, DeviceValue x, NormInputs p, long c, long rows, long tokens)
    {
        var o = New(n.Outputs[0], x.Shape, ActDType(rows));
        Add(new ActionStep(n.Name, KernelClass.NormRope, stream =>
        {
            var (s1, s2) = p.Bound();
            Check(vg_norm_modulate(p.Kind, x.Ptr, (int)x.DType, c, o.Ptr, (int)o.DType, c, rows, tokens, c, p.Eps,
                p.Weight?.Ptr ?? IntPtr.Zero, p.Bias?.Ptr ?? IntPtr.Zero, 0, p.Scale is null ? null : &s1, p.Shift is null ? null : &s2, stream), n.Name);
        }), p.Reads(x), [o]);
        _dev[n.Outputs[0]] = o;
    }

    void RmsNormRope(OpNode n)
    {
        var x = Dev(n.In(0)!, VgDType.BF16);
        long heads = n.Int("heads", 0), hd = n.Int("head_dim", 0), c = heads * hd;
        int norm = (int)n.Int("apply_norm", 1); float eps = (float)n.Float("epsilon", 1e-6);
        var w = n.In(1) is string ws ? Dev(ws, VgDType.F32) : null;
        bool perHead = x.Shape.Length == 4 && x.Shape[2] == heads && x.Shape[3] == hd;
        if (!perHead && (x.Shape[^1] != c || x.Shape.Length != 3))
            throw new EngineException($"node '{n.Name}': RoPE input {x} is neither [batch, tokens, {c}] nor [batch, tokens, {heads}, {hd}]");
        long rows = x.Count / c, tokens = x.Shape[1];
        if (perHead && norm == 1)
        {
            // [batch, tokens, heads, head_dim]: the RMSNorm is per head (over head_dim), the kernel's over the row: norm first
            var normed = Temp(x.Shape, VgDType.BF16);
            var (xin, nw) = (x, w);
            Add(new ActionStep(n.Name + "/rms_per_head", KernelClass.NormRope, stream =>
                Check(vg_norm_modulate(1, xin.Ptr, (int)xin.DType, hd, normed.Ptr, (int)VgDType.BF16, hd, rows * heads, rows * heads, hd, eps,
                    nw?.Ptr ?? IntPtr.Zero, IntPtr.Zero, 0, null, null, stream), n.Name)), nw is null ? [xin] : [xin, nw], [normed]);
            x = normed; norm = 0; w = null;
        }
        var cos = HostOf(n.In(2)) ?? throw new EngineException($"node '{n.Name}': the RoPE cos table must be computable at plan time");
        var sin = HostOf(n.In(3)) ?? throw new EngineException($"node '{n.Name}': the RoPE sin table must be computable at plan time");
        if (cos.Count != tokens * hd / 2 || sin.Count != cos.Count)
            throw new EngineException($"node '{n.Name}': RoPE tables have {cos.Count} entries, expected tokens {tokens} × {hd / 2}");
        // one upload per table, shared by every node that rotates with it (each block's q and k)
        var dc = Dev(n.In(2)!, VgDType.F32); var ds = Dev(n.In(3)!, VgDType.F32);
        DeviceValue Plain()
        {
            var o = New(n.Outputs[0], [x.Shape[0], x.Shape[1], c], VgDType.BF16); // ApplyInterleaved's output: [batch, tokens, heads·head_dim]
            Add(new ActionStep(n.Name, KernelClass.NormRope, stream =>
                Check(vg_rmsnorm_rope(x.Ptr, c, o.Ptr, c, rows, tokens, heads, hd, norm, eps, w?.Ptr ?? IntPtr.Zero, 0, dc.Ptr, ds.Ptr, 0, stream), n.Name)),
                w is null ? [x, dc, ds] : [x, w, dc, ds], [o]);
            return _dev[n.Outputs[0]] = o;
        }
        if (!perHead && SageNormCandidate(n, x, out long qh, out long qd) && qh == heads && qd == hd)
        {
            DeferNorm(n, x, w, norm, eps, dc, ds, Plain);  // its attention plans it (ShapePlanner.SageQ.cs)
            return;
        }
        Plain();
    }

    void GatedResidual(OpNode n)
    {
        var x = Dev(n.In(0)!); var a = Dev(n.In(1)!); var b = Dev(n.In(2)!);
        var (y, gate) = a.Shape.SequenceEqual(x.Shape) ? (a, b) : (b, a);
        long c = x.Shape[^1];
        bool fusedOk = y.Shape.SequenceEqual(x.Shape) && c % 8 == 0 && x.Shape.Length == 3 && gate.Shape.Length >= 1 && gate.Shape[^1] == c
            && Layout.Broadcast(x.Shape, gate.Shape, n.Name).SequenceEqual(x.Shape) && (gate.Shape.Length < 2 || gate.Shape[^2] == 1 || gate.Shape[^2] == x.Shape[^2]);
        if (!fusedOk)
        {
            // the same function through the generic kernels: t = a * b; out = x + t
            var shapeT = Layout.Broadcast(a.Shape, b.Shape, n.Name);
            var t = Temp(shapeT, VgDType.F32);
            Nd(n.Name + "/mul", KernelClass.Other, 3, shapeT, t, 0, Layout.Contiguous(shapeT), a, 0, Layout.BroadcastStrides(a.Shape, shapeT), b, 0, Layout.BroadcastStrides(b.Shape, shapeT));
            var shapeO = Layout.Broadcast(x.Shape, shapeT, n.Name);
            var oo = New(n.Outputs[0], shapeO, x.DType);
            Nd(n.Name + "/add", KernelClass.Other, 1, shapeO, oo, 0, Layout.Contiguous(shapeO), x, 0, Layout.BroadcastStrides(x.Shape, shapeO), t, 0, Layout.BroadcastStrides(shapeT, shapeO));
            _dev[n.Outputs[0]] = oo;
            return;
        }
        long rows = x.Count / c, tokens = x.Shape[1];
        if (TryResidualNorm(n, x, y, gate, x.DType)) return;
        var rg = RowVec(gate, x.Shape, n.Name);
        var o = New(n.Outputs[0], x.Shape, x.DType);
        Add(new ActionStep(n.Name, KernelClass.Other, stream =>
        {
            RowVector g = rg; g.Ptr = gate.Ptr;
            Check(vg_gated_residual(x.Ptr, (int)x.DType, y.Ptr, (int)y.DType, &g, o.Ptr, rows, tokens, c, stream), n.Name);
        }), [x, y, gate], [o]);
        _dev[n.Outputs[0]] = o;
    }

    void Attention(OpNode n)
    {
        // q's norm may wait for this attention (ShapePlanner.SageQ.cs)
        var pq = n.In(0) is string qn && _pendingNorms.Remove(qn, out var pendingQ) ? pendingQ : null;
        var q = pq?.StandIn ?? Dev(n.In(0)!); var k = Dev(n.In(1)!); var v = Dev(n.In(2)!);
        if (q.Shape.Length != 3 || k.Shape.Length != 3 || v.Shape.Length != 3)
            throw new EngineException($"node '{n.Name}' (Attention): the native CUDA engine runs 3-D [batch, seq, heads*head_dim] inputs; got {q}, {k}, {v}");
        long heads = n.Int("q_num_heads", 0), kvHeads = n.Int("kv_num_heads", heads);
        if (heads <= 0 || q.Shape[2] % heads != 0) throw new EngineException($"node '{n.Name}' (Attention): q_num_heads {heads} does not divide {q.Shape[2]}");
        if (kvHeads <= 0 || heads % kvHeads != 0 || k.Shape[2] % kvHeads != 0)
            throw new EngineException($"node '{n.Name}' (Attention): kv_num_heads {kvHeads} does not divide q_num_heads {heads} and {k.Shape[2]}");
        long hd = q.Shape[2] / heads;
        float scale = (float)n.Float("scale", 0);
        _plan.AttentionFlops += 4.0 * q.Shape[0] * heads * q.Shape[1] * k.Shape[1] * hd;
        if (pq is not null)
        {
            if (TrySageAttentionFused(n, pq, k, v, heads, kvHeads, scale)) return;
            if (TryFp8CrossAttention(n, pq, k, v, heads, kvHeads, scale)) return;
            q = pq.Plain();  // not a fused Sage attention after all: the norm's own step, then the path below
        }
        if (n.In(3) is not null || n.Int("is_causal", 0) != 0 || hd % 8 != 0 || hd > 256 || _res.Float32Activations)
        {
            GeneralAttention(n, q, k, v, heads, kvHeads, hd, scale);
            return;
        }
        q = Cast(q, VgDType.BF16); k = Cast(k, VgDType.BF16); v = Cast(v, VgDType.BF16);
        if (_res.SageAttention(q.Shape[1], k.Shape[1], hd))
        {
            SageAttention(n, q, k, v, _res.SagePlan(q.Shape[0], heads, kvHeads, q.Shape[1], k.Shape[1], hd, scale));
            return;
        }
        if (_res.Fp8Attention(q.Shape[1], k.Shape[1], hd))
        {
            Fp8Attention(n, q, k, v, _res.AttentionPlan(q.Shape[0], heads, kvHeads, q.Shape[1], k.Shape[1], hd, scale, fp8: true));
            return;
        }
        var plan = _res.AttentionPlan(q.Shape[0], heads, kvHeads, q.Shape[1], k.Shape[1], hd, scale);
        var o = New(n.Outputs[0], q.Shape, VgDType.BF16);
        AttentionStep(n.Name, plan, q, k, v, o, null);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>The attention kernel's step; <paramref name="scales"/> (the q, k, v scale blocks) for the FP8 kernel,
    /// whose output is quantized with v's scale.</summary>
    void AttentionStep(string name, AttentionPlan plan, DeviceValue q, DeviceValue k, DeviceValue v, DeviceValue o,
        (DeviceValue Q, DeviceValue K, DeviceValue V)? scales)
    {
        Add(new ActionStep(name, KernelClass.Attention, stream =>
        {
            var args = new AttentionArgs
            {
                StructSize = (uint)sizeof(AttentionArgs), Q = q.Ptr, K = k.Ptr, V = v.Ptr, Out = o.Ptr,
                Workspace = _plan.Workspace, WorkspaceBytes = (nuint)_plan.WorkspaceBytes,
            };
            if (scales is { } sc) { args.QScale = sc.Q.Ptr; args.KScale = sc.K.Ptr; args.VScale = sc.V.Ptr; args.OutScale = sc.V.Ptr; }
            Check(vg_attention_run(plan.Handle.Ptr, &args, stream), name);
        }) { Detail = plan.Key }, scales is { } t ? [q, k, v, t.Q, t.K, t.V] : [q, k, v], [o]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
    }

    /// <summary>q, k, v quantized to FP8 with per-tensor scales computed on the device, FP8 attention, output
    /// dequantized to bf16. The output is quantized with v's scale: every output row is a convex combination of v
    /// rows, so |out| ≤ max|v| and it cannot overflow.</summary>
    void Fp8Attention(OpNode n, DeviceValue q, DeviceValue k, DeviceValue v, AttentionPlan plan)
    {
        DeviceValue Quantized(DeviceValue x) => New(n.Name + "/" + x.Name + "#fp8", x.Shape, VgDType.FP8E4M3);
        DeviceValue ScaleBlock(string what) => New(n.Name + "/" + what + "_scale", [Fp8ScaleFloats], VgDType.F32);
        var (q8, k8, v8) = (Quantized(q), Quantized(k), Quantized(v));
        var (sq, sk, sv) = (ScaleBlock("q"), ScaleBlock("k"), ScaleBlock("v"));
        var o8 = New(n.Name + "/out#fp8", q.Shape, VgDType.FP8E4M3);
        var o = New(n.Outputs[0], q.Shape, VgDType.BF16);
        Add(new ActionStep(n.Name + "/quantize", KernelClass.Attention, stream =>
        {
            foreach (var (x, x8, s) in new[] { (q, q8, sq), (k, k8, sk), (v, v8, sv) })
                Check(vg_quantize_fp8(x.Ptr, (int)x.DType, x.Count, x8.Ptr, s.Ptr, stream), n.Name + " (quantize " + x.Name + ")");
        }), [q, k, v], [q8, k8, v8, sq, sk, sv]);
        AttentionStep(n.Name, plan, q8, k8, v8, o8, (sq, sk, sv));
        Add(new ActionStep(n.Name + "/dequantize", KernelClass.Attention, stream =>
            Check(vg_dequantize_fp8(o8.Ptr, sv.Ptr, o8.Count, o.Ptr, (int)VgDType.BF16, stream), n.Name + " (dequantize)")),
            [o8, sv], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>Sage-style quantized attention: one step that enqueues the library's pre-pass (K smoothing, INT8 q/k and
    /// per-channel FP8 v into the plan's workspace) and its INT8·FP8 flash kernel, bf16 in and out.</summary>
    void SageAttention(OpNode n, DeviceValue q, DeviceValue k, DeviceValue v, SageAttentionPlan plan) =>
        SageRun(n, plan, q, k, v, SagePhaseAll, q.Shape);

    /// <summary>The Sage run step of attention <paramref name="n"/> (<paramref name="phase"/>: the whole run, or the run
    /// on codes the fused q / k steps wrote, passed as <paramref name="q"/> / <paramref name="k"/>), its bf16 output of
    /// <paramref name="shape"/>.</summary>
    void SageRun(OpNode n, SageAttentionPlan plan, DeviceValue q, DeviceValue k, DeviceValue v, int phase, long[] shape)
    {
        var o = New(n.Outputs[0], shape, VgDType.BF16);
        Add(new ActionStep(n.Name, KernelClass.Attention, stream =>
        {
            var args = new SageAttentionArgs
            {
                StructSize = (uint)sizeof(SageAttentionArgs), Q = q.Ptr, K = k.Ptr, V = v.Ptr, Out = o.Ptr,
                Workspace = _plan.Workspace, WorkspaceBytes = (nuint)_plan.WorkspaceBytes,
            };
            Check(vg_sage_attention_run(plan.Handle.Ptr, &args, phase, stream), n.Name);
        }) { Detail = plan.Key }, [q, k, v], [o]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        _dev[n.Outputs[0]] = o;
    }
}
