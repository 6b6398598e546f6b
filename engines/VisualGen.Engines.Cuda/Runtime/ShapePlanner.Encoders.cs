using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>The steps text encoders and VAEs add: cuDNN convolutions, zero padding, Wan's channel norm, GroupNorm, token
/// embeddings from device ids, and CLIP's pooled output (Equal, ArgMax and GatherND over the device token ids).</summary>
internal sealed unsafe partial class ShapePlanner
{
    /// <summary>ONNX Conv (groups 1) through cuDNN: in float32 (TF32 tensor cores, PyTorch's default for convolutions)
    /// when the engine's activations are float32 (the VAEs by default), else in bf16 with a bf16 copy of the kernel
    /// (<c>--vae-dtype bf16</c>; fp32 accumulation, a bf16 bias added to the bf16 output). Asymmetric padding is a
    /// zero-padded copy first.</summary>
    void Conv(OpNode n)
    {
        var dt = _res.Float32Activations ? VgDType.F32 : VgDType.BF16;
        var x = Dev(n.In(0)!, dt);
        var wc = _g.Constants[n.In(1)!];
        int sp = x.Shape.Length - 2;
        if (sp is < 1 or > 3 || wc.Shape.Length != sp + 2)
            throw new EngineException($"node '{n.Name}' (Conv): input {x} and weight [{string.Join(",", wc.Shape)}] are not a 1-3-d convolution");
        if (wc.Shape[1] != x.Shape[1]) throw new EngineException($"node '{n.Name}' (Conv): input has {x.Shape[1]} channels, the weight {wc.Shape[1]}");
        long[] strides = n.Ints("strides") ?? Enumerable.Repeat(1L, sp).ToArray();
        long[] dil = n.Ints("dilations") ?? Enumerable.Repeat(1L, sp).ToArray();
        long[] pads = n.Ints("pads") ?? new long[2 * sp];
        if (n.Text("auto_pad", "NOTSET") != "NOTSET") throw new EngineException($"node '{n.Name}' (Conv): auto_pad is not supported; the exporter writes explicit pads");
        bool symmetric = Enumerable.Range(0, sp).All(i => pads[i] == pads[sp + i]);
        if (!symmetric)
        {
            x = PadCopy(n.Name + "/pad", x, [0, 0, .. pads[..sp]], [0, 0, .. pads[sp..]]);
            pads = new long[2 * sp];
        }
        var d = new ConvDesc { DType = (int)dt, SpatialDims = sp, Batch = x.Shape[0], InChannels = x.Shape[1], OutChannels = wc.Shape[0] };
        for (int i = 0; i < sp; i++)
        {
            d.InSize[i] = x.Shape[2 + i]; d.Kernel[i] = wc.Shape[2 + i]; d.Stride[i] = strides[i]; d.Pad[i] = pads[i]; d.Dilation[i] = dil[i];
        }
        var plan = _res.ConvPlan(d);
        // the bias in the output's dtype (half the bytes of an fp32 copy in a bf16 engine)
        var bias = n.In(2) is string bs ? Dev(bs, dt) : null;
        IntPtr w = dt == VgDType.F32 ? _res.Weight(n.In(1)!) : _res.WeightAsBf16(n.In(1)!, wc.Shape.Aggregate(1L, (a, b) => a * b));
        var o = New(n.Outputs[0], [x.Shape[0], wc.Shape[0], .. plan.OutSize], dt);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        Add(new ActionStep(n.Name, KernelClass.Conv, stream =>
            Check(vg_conv_run(plan.Handle.Ptr, x.Ptr, w, bias?.Ptr ?? IntPtr.Zero, (int)dt, o.Ptr, _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name)),
            bias is null ? [x] : [x, bias], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>ONNX Pad, constant mode (any constant value known at plan time), non-negative pads known at plan time.</summary>
    void Pad(OpNode n)
    {
        var x = Dev(n.In(0)!);
        string mode = n.Text("mode", "constant");
        if (mode is not ("constant" or "edge" or "reflect")) throw new EngineException($"node '{n.Name}' (Pad): mode '{mode}' is not supported (constant, edge, reflect)");
        var pads = HostOf(n.In(1)) ?? throw new EngineException($"node '{n.Name}' (Pad): pads must be known at plan time");
        double fill = 0;
        if (n.In(2) is string v)
        {
            var value = HostOf(v) ?? throw new EngineException($"node '{n.Name}' (Pad): the constant value must be known at plan time");
            if (value.Count != 1) throw new EngineException($"node '{n.Name}' (Pad): the constant value has {value.Count} elements, expected one");
            fill = value.Data[0];
        }
        if (n.In(3) is not null) throw new EngineException($"node '{n.Name}' (Pad): the axes input is not supported");
        int r = x.Shape.Length;
        var p = pads.Data.Select(z => (long)z).ToArray();
        if (p.Length != 2 * r) throw new EngineException($"node '{n.Name}' (Pad): {p.Length} pads for rank {r}");
        if (mode == "constant") { _dev[n.Outputs[0]] = PadCopy(n.Name, x, p[..r], p[r..], n.Outputs[0], fill); return; }
        _dev[n.Outputs[0]] = BorderPad(n.Name, x, p[..r], p[r..], n.Outputs[0], reflect: mode == "reflect");
    }

    /// <summary>Pad in edge or reflect mode (LTX-2's video VAE: the first frame repeated before a causal convolution,
    /// reflected borders in space): x copied into the middle, then axis by axis each border copied from inside the
    /// buffer: the edge row broadcast (stride 0), or the rows next to it mirrored (a negative stride). Each axis's copy
    /// spans the whole buffer along the other axes, so the corners come out as ONNX defines them once the later axes
    /// are done.</summary>
    DeviceValue BorderPad(string name, DeviceValue x, long[] begin, long[] end, string output, bool reflect)
    {
        if (begin.Concat(end).Any(z => z < 0)) throw new EngineException($"node '{name}' (Pad): negative pads (cropping) are not supported");
        for (int a = 0; a < x.Shape.Length; a++)
            if (reflect && (begin[a] >= x.Shape[a] || end[a] >= x.Shape[a]) || !reflect && (begin[a] > 0 || end[a] > 0) && x.Shape[a] == 0)
                throw new EngineException($"node '{name}' (Pad): {(reflect ? "reflect" : "edge")} pads {begin[a]}/{end[a]} do not fit axis {a} of size {x.Shape[a]}");
        var shape = x.Shape.Select((s, i) => s + begin[i] + end[i]).ToArray();
        var o = New(output, shape, x.DType);
        var st = Layout.Contiguous(shape);
        Nd(name, KernelClass.Other, 0, x.Shape, o, begin.Select((b, i) => b * st[i]).Sum(), st, x, 0, Layout.Contiguous(x.Shape), null, 0, null);
        for (int a = 0; a < shape.Length; a++)
        {
            long n = x.Shape[a];
            foreach (var (count, at, from) in new[] { (begin[a], 0L, reflect ? 2 * begin[a] : begin[a]), (end[a], begin[a] + n, reflect ? begin[a] + n - 2 : begin[a] + n - 1) })
            {
                if (count == 0) continue;
                var sizes = shape.ToArray();
                sizes[a] = count;
                var src = st.ToArray();
                src[a] = reflect ? -st[a] : 0;
                Nd(name + "/border", KernelClass.Other, 0, sizes, o, at * st[a], st, o, from * st[a], src, null, 0, null);
            }
        }
        return o;
    }

    /// <summary>x copied into a buffer padded by <paramref name="begin"/>/<paramref name="end"/> per axis; the border is
    /// zeroed (memset), or for another <paramref name="fill"/> written with that value broadcast from one uploaded
    /// element (LTX-2's RoPE pads its cos table with 1).</summary>
    DeviceValue PadCopy(string name, DeviceValue x, long[] begin, long[] end, string? output = null, double fill = 0)
    {
        if (begin.Concat(end).Any(z => z < 0)) throw new EngineException($"node '{name}' (Pad): negative pads (cropping) are not supported");
        var shape = x.Shape.Select((s, i) => s + begin[i] + end[i]).ToArray();
        var o = output is null ? Temp(shape, x.DType) : New(output, shape, x.DType);
        var st = Layout.Contiguous(shape);
        long offset = begin.Select((b, i) => b * st[i]).Sum();
        if (fill == 0)
            Add(new ActionStep(name + "/zero", KernelClass.Other, stream =>
                Check(vg_memset_async(o.Ptr, 0, (nuint)o.Bytes, stream), name)), [], [o]);
        else
        {
            var value = UploadHost(new HostValue([1], [fill], false), name + "/value");
            Nd(name + "/fill", KernelClass.Other, 0, shape, o, 0, st, value, 0, new long[shape.Length], null, 0, null);
        }
        Nd(name, KernelClass.Other, 0, x.Shape, o, offset, st, x, 0, Layout.Contiguous(x.Shape), null, 0, null);
        return o;
    }

    /// <summary>Wan's VAE norm: x / max(‖x[b, :, s]‖₂, eps) · weight[c] over channels (dim 1).</summary>
    void ChannelNorm(OpNode n)
    {
        var x = Dev(n.In(0)!);
        if (x.Shape.Length < 2) throw new EngineException($"node '{n.Name}': channel norm of {x} needs [batch, channels, ...]");
        long b = x.Shape[0], c = x.Shape[1], inner = x.Count / (b * c);
        var wh = HostOf(n.In(1)) ?? throw new EngineException($"node '{n.Name}': the channel weight must be a constant");
        if (wh.Count != c && wh.Count != 1) throw new EngineException($"node '{n.Name}': channel weight has {wh.Count} values for {c} channels");
        var weight = UploadHost(wh.Count == c ? wh : new HostValue([c], Enumerable.Repeat(wh.Data[0], (int)c).ToArray(), false), n.In(1)!);
        float eps = (float)n.Float("epsilon", 1e-12);
        var o = New(n.Outputs[0], x.Shape, x.DType);
        Add(new ActionStep(n.Name, KernelClass.NormRope, stream =>
            Check(vg_channel_l2norm(x.Ptr, o.Ptr, (int)x.DType, b, c, inner, eps, weight.Ptr, stream), n.Name)), [x, weight], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>GroupNorm (AutoencoderKL's resnets, mid-block attention and conv_norm_out) over [batch, channels, ...]:
    /// statistics per (batch, group) from per-slice sums in the plan's workspace, per-channel affine, the following SiLU
    /// when fused.</summary>
    void GroupNorm(OpNode n)
    {
        var x = Dev(n.In(0)!);
        if (x.DType is not (VgDType.F32 or VgDType.BF16)) x = Cast(x, VgDType.F32);
        if (x.Shape.Length < 2) throw new EngineException($"node '{n.Name}' (GroupNormalization): input {x} needs [batch, channels, ...]");
        long b = x.Shape[0], c = x.Shape[1], inner = x.Count / Math.Max(1, b * c), groups = n.Int("num_groups", 0);
        if (groups <= 0 || c % groups != 0) throw new EngineException($"node '{n.Name}' (GroupNormalization): {c} channels are not divisible into {groups} groups");
        var w = Dev(n.In(1)!, VgDType.F32);
        var bias = Dev(n.In(2)!, VgDType.F32);
        if (w.Count != c || bias.Count != c)
            throw new EngineException($"node '{n.Name}' (GroupNormalization): scale {w} and bias {bias} must have one value per channel ({c}; the opset-21 form)");
        float eps = (float)n.Float("epsilon", 1e-5);
        int silu = (int)n.Int("silu", 0);
        var o = New(n.Outputs[0], x.Shape, x.DType);
        if (!_res.DryRun)
        {
            Check(vg_group_norm_workspace_size(b, c, inner, groups, out var wsBytes), n.Name);
            _plan.NoteWorkspace((long)wsBytes);
        }
        Add(new ActionStep(n.Name, KernelClass.NormRope, stream =>
            Check(vg_group_norm(x.Ptr, (int)x.DType, o.Ptr, (int)o.DType, b, c, inner, groups, eps, w.Ptr, bias.Ptr, silu,
                _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name)),
            [x, w, bias], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>ONNX Equal with a device operand (CLIP: token ids == eos_token_id): 1.0/0.0 in float32 through vg_nd.
    /// An int64 operand is read as float (exact below 2^24: token ids); integer constants are uploaded as float32.</summary>
    void Equal(OpNode n)
    {
        string x = n.In(0)!, y = n.In(1)!;
        if (!_dev.ContainsKey(x)) (x, y) = (y, x); // the device operand is vg_nd's `a`, which may be int64
        var a = _dev[x];
        DeviceValue b;
        if (_dev.TryGetValue(y, out var dy)) b = dy.DType == VgDType.I64 ? Cast(dy, VgDType.F32) : dy;
        else b = UploadHost(HostOf(y) ?? throw new EngineException($"value '{y}' is not computed before use"), y);
        var shape = Layout.Broadcast(a.Shape, b.Shape, n.ToString());
        var o = New(n.Outputs[0], shape, VgDType.F32);
        Nd(n.Name, KernelClass.Other, 8, shape, o, 0, Layout.Contiguous(shape), a, 0, Layout.BroadcastStrides(a.Shape, shape), b, 0, Layout.BroadcastStrides(b.Shape, shape));
        _dev[n.Outputs[0]] = o;
        _integral.Add(n.Outputs[0]);
    }

    /// <summary>ONNX ArgMax of a device tensor (int64 token ids, 0/1 comparisons, floats): int64 indices on the device.</summary>
    void ArgMax(OpNode n)
    {
        var x = Dev(n.In(0)!);
        var (outer, len, inner, shape) = HostOps.ArgMaxShape(n, x.Shape);
        int last = (int)n.Int("select_last_index", 0);
        var o = New(n.Outputs[0], shape, VgDType.I64);
        Add(new ActionStep(n.Name, KernelClass.Other, stream =>
            Check(vg_argmax(x.Ptr, (int)x.DType, outer, len, inner, last, o.Ptr, stream), n.Name)), [x], [o]);
        _dev[n.Outputs[0]] = o;
        _integral.Add(n.Outputs[0]);
    }

    /// <summary>ONNX GatherND whose index tuples have one entry (indices [..., 1]): per batch item (the batch_dims axes),
    /// rows of the data by int64 indices through vg_gather_rows — CLIP's hidden state at the EOS position. Indices must
    /// be non-negative (the kernel clamps to the axis; ArgMax's are).</summary>
    void GatherNd(OpNode n)
    {
        var x = Dev(n.In(0)!);
        if (x.DType is not (VgDType.F32 or VgDType.BF16)) throw new EngineException($"node '{n.Name}' (GatherND): data {x} must be float on the device");
        int batchDims = (int)n.Int("batch_dims", 0);
        long rows = batchDims < x.Shape.Length ? x.Shape[batchDims] : 1;
        DeviceValue idx;
        if (_dev.TryGetValue(n.In(1)!, out var di)) idx = di;
        else
        {
            var h = HostOf(n.In(1)) ?? throw new EngineException($"value '{n.In(1)}' is not computed before use");
            idx = new DeviceValue(n.Name + "/indices", h.Shape, VgDType.I64) { Persistent = true };
            _plan.Values.Add(idx);
            _plan.HostUploadsI64.Add((idx, h.Data.Select(v => (long)v < 0 ? (long)v + rows : (long)v).ToArray()));
        }
        if (idx.DType != VgDType.I64) throw new EngineException($"node '{n.Name}' (GatherND): indices {idx} must be int64 on the device");
        var (batch, count, k, slice, shape) = HostOps.GatherNdShape(n, x.Shape, idx.Shape);
        if (k != 1) throw new EngineException($"node '{n.Name}' (GatherND): index tuples of {k} entries; the native CUDA engine gathers along one axis (indices [..., 1])");
        var o = New(n.Outputs[0], shape, x.DType);
        long es = x.ElementSize;
        Add(new ActionStep(n.Name, KernelClass.Other, stream =>
        {
            for (long b = 0; b < batch; b++)
                Check(vg_gather_rows(x.Ptr + (nint)(b * rows * slice * es), (int)x.DType, rows, slice, idx.Ptr + (nint)(b * count * 8), count,
                    o.Ptr + (nint)(b * count * slice * es), (int)o.DType, stream), n.Name);
        }), [x, idx], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>Token embedding: rows of the packed bf16 table by int64 ids on the device.</summary>
    void GatherRows(OpNode n)
    {
        var ids = Dev(n.In(1)!);
        if (ids.DType != VgDType.I64) throw new EngineException($"node '{n.Name}' (Gather): indices {ids} must be int64 on the device");
        long rows = n.Int("rows", 0), width = n.Int("width", 0);
        IntPtr table = _res.Weight(n.In(0)!);
        var o = New(n.Outputs[0], [.. ids.Shape, width], ActDType(ids.Count));
        Add(new ActionStep(n.Name, KernelClass.Other, stream =>
            Check(vg_gather_rows(table, (int)VgDType.BF16, rows, width, ids.Ptr, ids.Count, o.Ptr, (int)o.DType, stream), n.Name)), [ids], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>An <c>is_causal</c> attention's additive mask, made when the shape is planned: query i attends keys j ≤ i
    /// (ONNX's upper-left alignment), 0 where allowed and float.MinValue where not, joined with the node's mask input (known
    /// at plan time; OpRegistry checks) by the minimum — the values a traced causal mask combined with a padding mask has.
    /// [mask batch, mask heads, q_len, kv_len], broadcast like any mask.</summary>
    DeviceValue CausalMask(OpNode n, long sq, long skv)
    {
        // every layer of an encoder asks for the same one: made and uploaded once per plan
        string key = $"{n.In(3)}|{sq}|{skv}";
        if (_causalMasks.TryGetValue(key, out var made)) return made;
        HostValue? given = null;
        if (n.In(3) is string m)
            given = HostOf(m) ?? throw new EngineException($"node '{n.Name}' (Attention): is_causal with a mask input that is not known when the shape is planned");
        if (given is not null && given.Shape.Length > 4)
            throw new EngineException($"node '{n.Name}' (Attention): mask [{string.Join(",", given.Shape)}] has more than 4 dims");
        long[] full = given is null ? [1, 1, 1, 1] : [.. Enumerable.Repeat(1L, 4 - given.Shape.Length), .. given.Shape];
        if (full.Length != 4 || (full[2] != 1 && full[2] != sq) || (full[3] != 1 && full[3] != skv))
            throw new EngineException($"node '{n.Name}' (Attention): mask [{string.Join(",", given!.Shape)}] does not broadcast to [.., {sq}, {skv}]");
        long outer = full[0] * full[1];
        var data = new double[outer * sq * skv];
        var gs = Layout.Contiguous(full);
        for (long o = 0; o < outer; o++)
            for (long i = 0; i < sq; i++)
                for (long j = 0; j < skv; j++)
                {
                    double v = given is null ? 0 : ToAdditive(given, given.Data[o * (full[2] * full[3]) + (full[2] == 1 ? 0 : i * gs[2]) + (full[3] == 1 ? 0 : j)]);
                    data[(o * sq + i) * skv + j] = j > i ? Math.Min(v, float.MinValue) : v;
                }
        return _causalMasks[key] = UploadHost(new HostValue([full[0], full[1], sq, skv], data, false), n.Name + "/causal_mask");
    }

    readonly Dictionary<string, DeviceValue> _causalMasks = new(StringComparer.Ordinal);

    /// <summary>A mask element as an additive value: a boolean mask (stored as 0/1) allows where 1.</summary>
    static double ToAdditive(HostValue mask, double v) => mask.IsInt ? (v != 0 ? 0 : float.MinValue) : v;

    /// <summary>Attention for what the fused kernel does not take (masks, any head size, float32 activations): per batch
    /// item, scores = scale·q·kᵀ (batched over heads), softmax with the broadcast additive mask, out = p·v — the
    /// [heads, q_len, kv_len] scores are materialized (fp32).</summary>
    void GeneralAttention(OpNode n, DeviceValue q, DeviceValue k, DeviceValue v, long heads, long kvHeads, long hd, float scale)
    {
        var dt = _res.Float32Activations ? VgDType.F32 : VgDType.BF16;
        q = Cast(q, dt); k = Cast(k, dt); v = Cast(v, dt);
        long batch = q.Shape[0], sq = q.Shape[1], skv = k.Shape[1];
        if (k.Shape[0] != batch || v.Shape[0] != batch || v.Shape[1] != skv || k.Shape[2] != kvHeads * hd || v.Shape[2] != kvHeads * hd)
            throw new EngineException($"node '{n.Name}' (Attention): q {q}, k {k}, v {v} do not agree ({heads} heads, {kvHeads} kv heads of {hd})");
        if (scale == 0) scale = 1f / MathF.Sqrt(hd);
        DeviceValue? mask = null;
        long[] maskStrides = new long[4];
        if (n.Int("is_causal", 0) != 0)
            mask = CausalMask(n, sq, skv);
        else if (n.In(3) is string m)
            mask = Dev(m);
        if (mask is not null)
        {
            var ms = mask.Shape;
            if (ms.Length > 4) throw new EngineException($"node '{n.Name}' (Attention): mask {mask} has more than 4 dims");
            long[] full = [.. Enumerable.Repeat(1L, 4 - ms.Length), .. ms];
            long[] target = [batch, heads, sq, skv];
            var cs = Layout.Contiguous(full);
            for (int i = 0; i < 4; i++)
            {
                if (full[i] != 1 && full[i] != target[i]) throw new EngineException($"node '{n.Name}' (Attention): mask {mask} does not broadcast to [{string.Join(",", target)}]");
                maskStrides[i] = full[i] == 1 ? 0 : cs[i];
            }
        }
        var scores = Temp([batch, heads, sq, skv], VgDType.F32);
        var probs = dt == VgDType.F32 ? scores : Temp([batch, heads, sq, skv], VgDType.BF16);
        var o = New(n.Outputs[0], [batch, sq, heads * hd], dt);
        long group = heads / kvHeads, qRow = heads * hd, kvRow = kvHeads * hd, es = dt == VgDType.F32 ? 4 : 2;
        const long workspace = 32 << 20;
        _plan.NoteWorkspace(workspace);
        var ctx = _res.Context;
        long[] rowDims = [batch, heads, sq];
        Add(new ActionStep(n.Name + "/scores", KernelClass.Attention, stream =>
        {
            for (long b = 0; b < batch; b++)
                // heads sharing a kv head (grouped-query) are one strided batch when group == 1, else one call per head
                for (long h0 = 0; h0 < heads; h0 += group == 1 ? heads : 1)
                {
                    long count = group == 1 ? heads : 1;
                    var d = new BgemmDesc
                    {
                        StructSize = (uint)sizeof(BgemmDesc), Batch = count, M = sq, N = skv, K = hd, TransB = 1, Lda = qRow, Ldb = kvRow, Ldc = skv,
                        StrideA = hd, StrideB = hd, StrideC = sq * skv, InDType = (int)dt, OutDType = (int)VgDType.F32, Alpha = scale,
                    };
                    Check(vg_bgemm(ctx.Ptr, &d, q.Ptr + (nint)((b * sq * qRow + h0 * hd) * es), k.Ptr + (nint)((b * skv * kvRow + h0 / group * hd) * es),
                        scores.Ptr + (nint)(((b * heads + h0) * sq * skv) * 4), _plan.Workspace, (nuint)Math.Min(workspace, _plan.WorkspaceBytes), stream), n.Name + " (q·kᵀ)");
                }
        }), [q, k], [scores]);
        Add(new ActionStep(n.Name + "/softmax", KernelClass.Attention, stream =>
        {
            fixed (long* rd = rowDims) fixed (long* bs = maskStrides)
                Check(vg_softmax_rows(scores.Ptr, (int)VgDType.F32, probs.Ptr, (int)probs.DType, rd, skv, 1f,
                    mask?.Ptr ?? IntPtr.Zero, (int)(mask?.DType ?? VgDType.F32), bs, stream), n.Name + " (softmax)");
        }), mask is null ? [scores] : [scores, mask], [probs]);
        Add(new ActionStep(n.Name + "/values", KernelClass.Attention, stream =>
        {
            long pes = probs.DType == VgDType.F32 ? 4 : 2;
            for (long b = 0; b < batch; b++)
                for (long h0 = 0; h0 < heads; h0 += group == 1 ? heads : 1)
                {
                    long count = group == 1 ? heads : 1;
                    var d = new BgemmDesc
                    {
                        StructSize = (uint)sizeof(BgemmDesc), Batch = count, M = sq, N = hd, K = skv, TransB = 0, Lda = skv, Ldb = kvRow, Ldc = qRow,
                        StrideA = sq * skv, StrideB = hd, StrideC = hd, InDType = (int)dt, OutDType = (int)dt, Alpha = 1,
                    };
                    Check(vg_bgemm(ctx.Ptr, &d, probs.Ptr + (nint)(((b * heads + h0) * sq * skv) * pes), v.Ptr + (nint)((b * skv * kvRow + h0 / group * hd) * es),
                        o.Ptr + (nint)((b * sq * qRow + h0 * hd) * es), _plan.Workspace, (nuint)Math.Min(workspace, _plan.WorkspaceBytes), stream), n.Name + " (p·v)");
                }
        }), [probs, v], [o]);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>A linear layer whose K or N is not a multiple of 8 (cuBLASLt's fused-epilogue GEMM needs 16-byte rows):
    /// the plain product through vg_bgemm, then bias and GELU as elementwise steps. Same function, slower path.</summary>
    void UnalignedLinear(string name, DeviceValue x, string weight, string? bias, int epilogue, long m, long n, long k, DeviceValue o)
    {
        IntPtr w = _res.Weight(weight);
        UnalignedLinear(name, x, () => w, null, bias, epilogue, m, n, k, o);
    }

    /// <summary>The same on a bf16 [N, K] weight the plan computes (<paramref name="computed"/>: a quantized linear's
    /// dequantized weight), read at run time.</summary>
    void UnalignedLinear(string name, DeviceValue x, Func<IntPtr> weight, DeviceValue? computed, string? bias, int epilogue, long m, long n, long k, DeviceValue o)
    {
        var y = epilogue == 0 ? o : Temp(o.Shape, VgDType.F32);
        var ctx = _res.Context;
        Add(new ActionStep(name, KernelClass.Gemm, stream =>
        {
            var d = new BgemmDesc
            {
                StructSize = (uint)sizeof(BgemmDesc), Batch = 1, M = m, N = n, K = k, TransB = 1, Lda = k, Ldb = k, Ldc = n,
                StrideA = m * k, StrideB = n * k, StrideC = m * n, InDType = (int)VgDType.BF16, OutDType = (int)y.DType, Alpha = 1,
            };
            Check(vg_bgemm(ctx.Ptr, &d, x.Ptr, weight(), y.Ptr, IntPtr.Zero, 0, stream), name);
        }), computed is null ? [x] : [x, computed], [y]);
        if (epilogue == 0) return;
        var rows = new[] { m, n };
        var c = Layout.Contiguous(rows);
        var src = y;
        if (bias is not null)
        {
            var b = Dev(bias);
            var t = epilogue is 1 ? o : Temp(o.Shape, VgDType.F32);
            Nd(name + "/bias", KernelClass.Other, 1, rows, t, 0, c, src, 0, c, b, 0, [0, 1]);
            src = t;
        }
        if (epilogue is 2 or 3) Nd(name + "/gelu", KernelClass.Other, 26, rows, o, 0, c, src, 0, c, null, 0, null);
    }

    /// <summary>ReduceSum / ReduceMean / ReduceMax over axes known at plan time, accumulated in float32: up to 256
    /// positions per output (Wan 2.2's AvgDown3D averages groups of channels) one strided add (or max) per position, in order; more (LTX-2's connectors take the maximum
    /// over the text length) by halving: the upper half folded onto the lower one, log2(n) steps per axis.</summary>
    void Reduce(OpNode n)
    {
        var x = Dev(n.In(0)!);
        int r = x.Shape.Length;
        var axesValue = n.In(1) is string an ? (HostOf(an) ?? throw new EngineException($"node '{n.Name}' ({n.Op}): axes must be known at plan time")).Data.Select(v => (long)v).ToArray()
            : n.Ints("axes") ?? [];
        if (axesValue.Length == 0) throw new EngineException($"node '{n.Name}' ({n.Op}): reducing every axis is not supported on the device");
        var axes = axesValue.Select(a => (int)(a < 0 ? a + r : a)).Distinct().Order().ToArray();
        bool keep = n.Int("keepdims", 1) != 0;
        var kept = x.Shape.Select((s, i) => axes.Contains(i) ? 1L : s).ToArray();
        long count = axes.Aggregate(1L, (p, a) => p * x.Shape[a]);
        int op = n.Op == "ReduceMax" ? 6 : 1;
        var xs = Layout.Contiguous(x.Shape);
        var acc = New(keep ? n.Outputs[0] : n.Name + "/sum", kept, VgDType.F32);
        var ks = Layout.Contiguous(kept);
        if (count <= 256)
            for (long i = 0; i < count; i++)
            {
                long rem = i, offset = 0;
                for (int j = axes.Length - 1; j >= 0; j--) { offset += rem % x.Shape[axes[j]] * xs[axes[j]]; rem /= x.Shape[axes[j]]; }
                if (i == 0) Nd(n.Name, KernelClass.Other, 0, kept, acc, 0, ks, x, offset, xs, null, 0, null);
                else Nd(n.Name, KernelClass.Other, op, kept, acc, 0, ks, acc, 0, ks, x, offset, xs);
            }
        else
        {
            // a float32 copy, then per axis: fold [h, len) onto [0, len - h) until one position is left, then copy out
            var work = Temp(x.Shape, VgDType.F32);
            Nd(n.Name + "/copy", KernelClass.Other, 0, x.Shape, work, 0, xs, x, 0, xs, null, 0, null);
            var extent = x.Shape.ToArray();
            foreach (int a in axes)
                for (long len = extent[a]; len > 1;)
                {
                    long h = (len + 1) / 2;
                    var sizes = extent.ToArray();
                    sizes[a] = len - h;
                    Nd(n.Name + "/fold", KernelClass.Other, op, sizes, work, 0, xs, work, 0, xs, work, h * xs[a], xs);
                    extent[a] = len = h;
                }
            Nd(n.Name, KernelClass.Other, 0, kept, acc, 0, ks, work, 0, xs, null, 0, null);
        }
        if (n.Op == "ReduceMean" && count > 1)
        {
            var scale = UploadHost(new HostValue([1], [1.0 / count], false), n.Name + "/inverse_count");
            Nd(n.Name + "/mean", KernelClass.Other, 3, kept, acc, 0, ks, acc, 0, ks, scale, 0, new long[kept.Length]);
        }
        _dev[n.Outputs[0]] = keep ? acc : new DeviceValue(n.Outputs[0], x.Shape.Where((_, i) => !axes.Contains(i)).ToArray(), VgDType.F32, acc);
        if (n.Op == "ReduceMax" && _integral.Contains(n.In(0)!)) _integral.Add(n.Outputs[0]);
    }

    /// <summary>LeakyRelu as max(x, alpha·x) (0 ≤ alpha ≤ 1): a multiply by the uploaded alpha, then the maximum.</summary>
    void LeakyRelu(OpNode n)
    {
        var x = Dev(n.In(0)!);
        double alpha = n.Float("alpha", 0.01);
        if (alpha is < 0 or > 1) throw new EngineException($"node '{n.Name}' (LeakyRelu): alpha {alpha} outside [0, 1]");
        var c = Layout.Contiguous(x.Shape);
        var scaled = Temp(x.Shape, x.DType);
        var a = UploadHost(new HostValue([1], [alpha], false), n.Name + "/alpha");
        Nd(n.Name + "/scale", KernelClass.Other, 3, x.Shape, scaled, 0, c, x, 0, c, a, 0, new long[x.Shape.Length]);
        var o = New(n.Outputs[0], x.Shape, x.DType);
        Nd(n.Name, KernelClass.Other, 6, x.Shape, o, 0, c, x, 0, c, scaled, 0, c);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>The input of a transposed convolution as a plain one (<see cref="EncoderFusion"/> lowers ConvTranspose):
    /// zeros with the input's samples every stride-th position along each spatial axis, after the begin pads.</summary>
    void ZeroStuff(OpNode n)
    {
        var x = Dev(n.In(0)!, _res.Float32Activations ? VgDType.F32 : VgDType.BF16);
        var strides = n.Ints("strides")!;
        var pads = n.Ints("pads")!;
        int sp = strides.Length;
        var shape = x.Shape.ToArray();
        for (int i = 0; i < sp; i++) shape[2 + i] = (x.Shape[2 + i] - 1) * strides[i] + 1 + pads[i] + pads[sp + i];
        var o = New(n.Outputs[0], shape, x.DType);
        var os = Layout.Contiguous(shape);
        var dst = os.ToArray();
        long offset = 0;
        for (int i = 0; i < sp; i++) { dst[2 + i] = os[2 + i] * strides[i]; offset += pads[i] * os[2 + i]; }
        Add(new ActionStep(n.Name + "/zero", KernelClass.Other, stream => Check(vg_memset_async(o.Ptr, 0, (nuint)o.Bytes, stream), n.Name)), [], [o]);
        Nd(n.Name, KernelClass.Other, 0, x.Shape, o, offset, dst, x, 0, Layout.Contiguous(x.Shape), null, 0, null);
        _dev[n.Outputs[0]] = o;
    }

    /// <summary>A Gather of rows of a small float table by plan-time indices whose result is large (T5's relative position
    /// bias: a [32, heads] table by [seq, seq] buckets is [seq, seq, heads], 16.8 M values per layer at 512 tokens): the
    /// indices are computed on the host, the rows gathered on the device. Folding it on the host took 30 s for UMT5-XXL.</summary>
    bool LargeTableGather(OpNode n)
    {
        if (n.Op != "Gather" || n.Int("axis", 0) != 0) return false;
        var table = HostOf(n.In(0));
        var idx = HostOf(n.In(1));
        return table is { IsInt: false } && table.Shape.Length == 2 && idx is { IsInt: true } && idx.Count * table.Shape[1] >= 1 << 20;
    }

    void DeviceTableGather(OpNode n)
    {
        var table = HostOf(n.In(0))!;
        var idx = HostOf(n.In(1))!;
        long rows = table.Shape[0], width = table.Shape[1];
        var t = Dev(n.In(0)!, VgDType.F32);
        var ids = new DeviceValue(n.Name + "/indices", idx.Shape, VgDType.I64) { Persistent = true };
        _plan.Values.Add(ids);
        _plan.HostUploadsI64.Add((ids, idx.Data.Select(v => (long)v < 0 ? (long)v + rows : (long)v).ToArray()));
        var o = New(n.Outputs[0], [.. idx.Shape, width], VgDType.F32);
        long count = idx.Count;
        Add(new ActionStep(n.Name, KernelClass.Other, stream =>
            Check(vg_gather_rows(t.Ptr, (int)VgDType.F32, rows, width, ids.Ptr, count, o.Ptr, (int)VgDType.F32, stream), n.Name)), [t, ids], [o]);
        _dev[n.Outputs[0]] = o;
    }
}
