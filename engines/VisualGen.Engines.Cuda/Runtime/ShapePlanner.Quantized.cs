using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// Quantized linears (<c>VgQuantLinear</c>, see <see cref="QuantizedLinearFusion"/>), every scale kept on the device:
/// <list type="bullet">
/// <item>FP8 (in and out features multiples of 16; otherwise the weight dequantized before a bf16 GEMM, logged): the
/// activation quantized to e4m3 on the device, then cuBLASLt's FP8 GEMM with the bias and GELU epilogue. With the
/// checkpoint's static input scale, per tensor as the graph's QuantizeLinear does. Without one (the graph itself keeps
/// such activations in float, but FP8 tensor cores take both operands in FP8), per row (token) in one pass, with
/// cuBLASLt's per-row scaling (<see cref="EngineResources.Fp8RowActivations"/>, the default), or per tensor with
/// s = bf16(max|x|/448) in two;</item>
/// <item>FP8_BLOCK_SCALES: the activation quantized per 1x128 group (rows padded to a multiple of 4), cuBLASLt's
/// 128x128/1x128 block-scaled FP8 GEMM, then bias and GELU as separate steps (the block-scaled GEMM runs without
/// epilogue);</item>
/// <item>NVFP4 on FP4 tensor cores (compute capability 10.0+, <see cref="EngineResources.Nvfp4OnTensorCores"/>): the
/// activation quantized to NVFP4 on the device by the weights' rule (scale_2 from max|x|), the weight's block scales
/// tiled once, cuBLASLt's NVFP4 GEMM, then bias and GELU as separate steps. Written for Blackwell and not yet run on
/// one: the machines this project measures on are Hopper.</item>
/// <item>NVFP4 weight-only (Hopper, or <see cref="EngineResources.Nvfp4WeightOnly"/>, or a shape the FP4 GEMM does not
/// take, logged in <see cref="EngineResources.QuantLog"/>): the packed weight unpacked to bf16 into a scratch buffer,
/// then the bf16 GEMM.</item>
/// </list>
/// A scheme the GPU cannot run is an error naming it (<see cref="EngineResources.RequireScheme"/>).
/// </summary>
internal sealed unsafe partial class ShapePlanner
{
    void QuantLinear(OpNode n)
    {
        string scheme = n.Text("scheme", "");
        _res.RequireScheme(scheme, n.Name);
        long k = n.Int("k", 0), nn = n.Int("n", 0);
        int epilogue = (int)n.Int("epilogue", 0);
        // an input its norm wrote as FP8 codes only (NormReadByFp8RowLinears) stands here for its shape
        var x = _quantizedOnly.TryGetValue(n.In(0)!, out var codesOnly) ? codesOnly : Dev(n.In(0)!);
        if (x.Shape[^1] != k) throw new EngineException($"node '{n.Name}' ({scheme} linear): input has {x.Shape[^1]} features, the weight {k}");
        long m = x.Count / k;
        var shape = x.Shape.ToArray(); shape[^1] = nn;
        DeviceValue y = scheme switch
        {
            QuantScheme.Fp8 => Fp8Linear(n, x, m, nn, k, epilogue, shape),
            QuantScheme.Fp8Block => Fp8BlockLinear(n, x, m, nn, k, epilogue, shape),
            QuantScheme.Nvfp4 => Nvfp4Linear(n, x, m, nn, k, epilogue, shape),
            _ => throw new EngineException($"node '{n.Name}': quantized linear scheme '{scheme}' is not one the native CUDA engine runs (FP8, FP8_BLOCK_SCALES, NVFP4)"),
        };
        // an output whose GEMM wrote the readers' FP8 codes only (Fp8GeluEpilogueLinear) stays a shape stand-in
        if (!_quantizedOnly.ContainsKey(n.Outputs[0])) _dev[n.Outputs[0]] = ActDType(m) == VgDType.F32 ? Cast(y, VgDType.F32) : y;
        _plan.QuantGemmFlops += 2.0 * m * nn * k;
    }

    /// <summary>An input's quantized form (by value name, static input scale, and form: FP8 per tensor, per row, per
    /// 1x128 group, NVFP4), quantized once per plan: the linears that read it after the first (q, k and v) reuse it.</summary>
    readonly Dictionary<(string Input, string? Scale, string Form), object> _quantizedInputs = [];
    const string Fp8RowsForm = "fp8 rows";

    /// <summary>Values that exist only in their per-row FP8 form (written by their norm), by name: shape-only stand-ins.</summary>
    readonly Dictionary<string, DeviceValue> _quantizedOnly = new(StringComparer.Ordinal);
    readonly Dictionary<string, DeviceValue> _perFeatureScales = new(StringComparer.Ordinal);
    Dictionary<string, List<OpNode>>? _consumers;

    /// <summary>Whether a norm's output is read only by dynamic FP8 linears that run per-row scaled GEMMs (the
    /// feature on, in and out features multiples of 16, cuBLASLt's per-row GEMM there for each), and is no graph
    /// output: then the norm writes their FP8 codes and row scales itself.</summary>
    bool NormReadByFp8RowLinears(OpNode norm, DeviceValue x, long c, long rows) =>
        _res.Fp8RowActivations && x.DType is (VgDType.BF16 or VgDType.F32) && ReadOnlyByFp8Linears(norm.Outputs[0], c, rows);

    /// <summary>Whether a dynamic FP8 linear's GELU leaves its epilogue for the per-row quantization of the linears that
    /// read its [rows, n] bf16 output (vg_quantize_fp8_rows_gelu): a DiT's FFN-up. The GELU then rides on that
    /// memory-bound pass: on an H200 the Wan 1.3B FFN-up took 1.24 ms a call instead of 1.43 with the GELU in cuBLASLt's
    /// epilogue, the FFN-down's quantization 0.51 ms with the GELU against 0.54 without (tools/bench/RESULTS.md, stop 38).</summary>
    bool GeluDeferrable(OpNode n, long rows, long nn) =>
        _res.Fp8RowActivations && ActDType(rows) == VgDType.BF16 && ReadOnlyByFp8Linears(n.Outputs[0], nn, rows);

    /// <summary>Whether <paramref name="value"/> ([rows, c]) is no graph output and only dynamic FP8 linears read it,
    /// each as its input alone, with cuBLASLt's FP8 GEMM of <paramref name="scaling"/> for its shape and a weight scale
    /// that GEMM reads: a constant (per tensor or per output feature) for per-row scaling, one float for per-tensor.</summary>
    bool ReadOnlyByFp8Linears(string value, long c, long rows, Fp8Scaling scaling = Fp8Scaling.Rows)
    {
        if (c % 16 != 0) return false;
        if (_g.Outputs.Any(o => o.Name == value)) return false;
        _consumers ??= _g.Consumers();
        if (!_consumers.TryGetValue(value, out var readers) || readers.Count == 0) return false;
        foreach (var r in readers)
        {
            long n = r.Int("n", 0);
            if (r.Op != "VgQuantLinear" || r.Text("scheme", "") != QuantScheme.Fp8 || r.In(3) is not null || r.In(0) != value
                || r.Inputs.Skip(1).Contains(value) || r.Int("k", 0) != c || n % 16 != 0
                || !(scaling == Fp8Scaling.Rows ? WeightScaleIsConstant(r, n) : HostOf(r.In(2))?.Count == 1))
                return false;
            if (_res.TryFp8GemmPlan(rows, n, c, scaling, (int)r.Int("epilogue", 0), out _) is null) return false;
        }
        return true;
    }

    /// <summary>Registers <paramref name="codes"/> and <paramref name="scales"/> as <paramref name="value"/>'s quantized
    /// <paramref name="form"/>, which the FP8 linears reading it take; the value itself exists only as the shape stand-in
    /// returned (a norm's, an FFN up projection's or an FP8 attention's output written as codes only).</summary>
    DeviceValue CodesOnly(string value, string form, DeviceValue codes, DeviceValue scales, long[] shape, long rows)
    {
        _quantizedInputs[(value, null, form)] = (codes, scales);
        return _quantizedOnly[value] = new DeviceValue(value, shape, ActDType(rows));
    }

    T QuantizedInput<T>((string, string?, string) key, Func<T> quantize) where T : notnull
    {
        if (_quantizedInputs.TryGetValue(key, out var q)) return (T)q;
        var made = quantize();
        _quantizedInputs[key] = made;
        return made;
    }

    static void RequireMultiples(OpNode n, string scheme, long nn, long k, int multiple, string why)
    {
        if (k % multiple != 0 || nn % multiple != 0)
            throw new EngineException($"node '{n.Name}' ({scheme} linear, weight [{nn}, {k}]): {why} needs in and out features that are multiples of {multiple}");
    }

    DeviceValue Fp8Linear(OpNode n, DeviceValue x, long m, long nn, long k, int epilogue, long[] shape)
    {
        // an input whose GELU was left to this linear's per-row quantization (GeluDeferrable checked that it takes that path)
        bool takesGelu = _geluDeferred.Contains(n.In(0)!);
        if (k % 16 != 0 || nn % 16 != 0)
            return takesGelu ? throw GeluPathLost(n) : Fp8DequantizedLinear(n, x, m, nn, k, epilogue, shape);
        // an input that exists as codes with one scale block only (an FP8 attention's output, ShapePlanner.CrossFp8.cs)
        if (_quantizedInputs.TryGetValue((n.In(0)!, null, Fp8TensorCodesForm), out var tensorCodes))
        {
            var (codes, block) = ((DeviceValue, DeviceValue))tensorCodes;
            return Fp8Gemm(n, _res.Fp8GemmPlan(m, nn, k, Fp8Scaling.Tensor, epilogue), codes, block, shape);
        }
        if (n.In(3) is null && _res.Fp8RowActivations && WeightScaleIsConstant(n, nn))
        {
            // this GEMM without its GELU where the readers' quantization applies it (GeluDeferrable)
            bool deferGelu = epilogue is 2 or 3 && GeluDeferrable(n, m, nn);
            if (deferGelu && Fp8GeluEpilogueLinear(n, x, m, nn, k, shape) is { } codesOnly) return codesOnly;
            int run = deferGelu ? epilogue - 2 : epilogue;
            if (_res.TryFp8GemmPlan(m, nn, k, Fp8Scaling.Rows, run, out var why) is { } rows)
            {
                var y = Fp8RowsLinear(n, x, m, nn, k, shape, rows);
                if (deferGelu)
                {
                    _geluDeferred.Add(n.Outputs[0]);
                    _res.NoteQuant($"FP8 linear '{n.Name}': its GELU runs in the per-row quantization of the linears that read it");
                }
                return y;
            }
            _res.NoteQuant($"FP8 linear '{n.Name}' (weight [{nn}, {k}], {m} rows): activations scaled per tensor, cuBLASLt has no per-row scaled GEMM for it ({why})");
        }
        if (takesGelu) throw GeluPathLost(n);
        // linears reading one input with one input scale (q, k and v) share its quantization
        var (xq, xs) = QuantizedInput((n.In(0)!, n.In(3), "fp8"), () =>
        {
            var xq = Temp([m, k], VgDType.FP8E4M3);
            var xs = Temp([Fp8TensorScaleFloats], VgDType.F32);
            var fixedScale = n.In(3) is string s ? Dev(s, VgDType.F32) : null;
            Add(new ActionStep(n.Name + "/quantize", KernelClass.Gemm, stream =>
                Check(vg_quantize_fp8_tensor(x.Ptr, (int)x.DType, x.Count, fixedScale?.Ptr ?? IntPtr.Zero, xq.Ptr, xs.Ptr, stream), n.Name + " (quantize input)")),
                fixedScale is null ? [x] : [x, fixedScale], [xq, xs]);
            return (xq, xs);
        });
        return Fp8Gemm(n, _res.Fp8GemmPlan(m, nn, k, Fp8Scaling.Tensor, epilogue), xq, xs, shape);
    }

    /// <summary>The largest spread of an FP8 weight's row norms (largest over median) the fused GELU epilogue takes: its
    /// per-row bound uses the largest norm (check_kernels' 8x loud row measured as accurate as the two-pass path).</summary>
    const double MaxRowNormSpread = 8.0;

    /// <summary>Values whose GELU their FP8 linear left to the readers' per-row quantization (vg_quantize_fp8_rows_gelu).</summary>
    readonly HashSet<string> _geluDeferred = new(StringComparer.Ordinal);

    static EngineException GeluPathLost(OpNode n) =>
        new($"node '{n.Name}' (FP8 linear): its input's GELU was left to this linear's per-row quantization, but the linear does not take that path (an engine planning error)");

    /// <summary>The FP8 GEMM step of a linear (bias and GELU in cuBLASLt's epilogue), its input quantized with scales
    /// <paramref name="xs"/> as <paramref name="plan"/>'s scaling reads them.</summary>
    DeviceValue Fp8Gemm(OpNode n, Fp8GemmPlan plan, DeviceValue xq, DeviceValue xs, long[] shape, DeviceValue? weightScale = null)
    {
        var ws = weightScale ?? Dev(n.In(2)!, VgDType.F32);
        var bias = n.In(4) is string b ? Dev(b, VgDType.BF16) : null;
        var o = New(n.Outputs[0] + "#bf16", shape, VgDType.BF16);
        IntPtr w = _res.Weight(n.In(1)!);
        Add(new ActionStep(n.Name, KernelClass.Gemm, stream =>
            Check(vg_fp8_gemm_run(plan.Handle.Ptr, xq.Ptr, xs.Ptr, w, ws.Ptr, bias?.Ptr ?? IntPtr.Zero, o.Ptr, _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name))
            { Detail = plan.Key }, bias is null ? [xq, xs, ws] : [xq, xs, ws, bias], [o]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        _plan.Fp8Gemms.Add(new(plan, xq, xs, w, ws, bias, o));
        return o;
    }

    /// <summary>Whether a FP8 linear's weight scale (input 2) is a constant of one float (per tensor) or one per output
    /// feature: what the per-row GEMM's weight-scale vector is made from at plan time.</summary>
    bool WeightScaleIsConstant(OpNode n, long nn) =>
        n.In(2) is string s && HostOf(s) is { IsInt: false } h && (h.Count == 1 || h.Count == nn);

    /// <summary>The weight scale as cuBLASLt's per-row GEMM reads it, one float per output feature (a per-tensor scale
    /// repeated), uploaded once with the plan's constants.</summary>
    DeviceValue PerFeatureWeightScale(OpNode n, long nn)
    {
        string name = n.In(2)!;
        if (_perFeatureScales.TryGetValue(name, out var v)) return v;
        var h = HostOf(name)!;
        var data = h.Count == nn ? h : new HostValue([nn], Enumerable.Repeat(h.Data[0], (int)nn).ToArray(), false);
        return _perFeatureScales[name] = UploadHost(data, name + "/per_feature");
    }

    /// <summary>A dynamic FP8 linear with one activation scale per row (token): the activation quantized in one pass,
    /// the weight scaled per output feature.</summary>
    DeviceValue Fp8RowsLinear(OpNode n, DeviceValue x, long m, long nn, long k, long[] shape, Fp8GemmPlan plan)
    {
        var (xq, xs) = RowQuantizedInput(n, x, m, k);
        return Fp8Gemm(n, plan, xq, xs, shape, PerFeatureWeightScale(n, nn));
    }

    /// <summary>The per-row FP8 codes and scales of a linear's input: made by its norm or an earlier linear's epilogue
    /// (registered), else quantized here in one pass (with the GELU its producer left to this pass).</summary>
    (DeviceValue Codes, DeviceValue Scales) RowQuantizedInput(OpNode n, DeviceValue x, long m, long k) =>
        QuantizedInput((n.In(0)!, null, Fp8RowsForm), () =>
        {
            var xq = Temp([m, k], VgDType.FP8E4M3);
            var xs = Temp([m], VgDType.F32);
            bool gelu = _geluDeferred.Contains(n.In(0)!);
            Add(new ActionStep(n.Name + (gelu ? "/gelu/quantize" : "/quantize"), KernelClass.Gemm, stream =>
                Check(gelu ? vg_quantize_fp8_rows_gelu(x.Ptr, (int)x.DType, m, k, xq.Ptr, xs.Ptr, stream)
                           : vg_quantize_fp8_rows(x.Ptr, (int)x.DType, m, k, xq.Ptr, xs.Ptr, stream), n.Name + " (quantize input per row)")),
                [x], [xq, xs]);
            return (xq, xs);
        });

    /// <summary>A dynamic FP8 linear with a GELU whose only readers are per-row scaled FP8 linears (a DiT's FFN up
    /// projection, <see cref="GeluDeferrable"/>), run as one CUTLASS GEMM whose epilogue applies the bias and the GELU
    /// and writes the readers' FP8 codes (vg_fp8_gemm_gelu_rows): the [rows, n] bf16 product and the pass that read it
    /// back are gone (Wan 1.3B under CFG: 1.94 → 1.50 ms a call on an H100, tools/bench/RESULTS.md, stop 48). The row
    /// scales are a bound of each row's max |GELU| made before the product (vg_fp8_gelu_row_scales, from the input's
    /// row scales and the weight's row norms, made once per weight). Null, with the reason in the quantization log,
    /// where the option is off, the library or GPU has no such kernel, or the weight is scaled per output feature.</summary>
    DeviceValue? Fp8GeluEpilogueLinear(OpNode n, DeviceValue x, long m, long nn, long k, long[] shape)
    {
        if (!_res.Fp8GeluEpilogue) return null;
        string? why = HostOf(n.In(2))?.Count != 1 ? "its weight is scaled per output feature (the kernel takes one scale per tensor)"
            : m > int.MaxValue ? $"{m} rows are more than the kernel indexes" : _res.Fp8GeluEpilogueUnavailable;
        // the bound uses the largest row norm for every row: a weight whose rows differ by much more than trained ones do
        // would put most codes among e4m3's denormals (one 30x row: the down projection's error twice the two-pass
        // path's, native/tests/check_kernels.py)
        var norms = why is null ? _res.WeightRowNorms(n.In(1)!, nn, k) : default;
        if (why is null && norms.Spread > MaxRowNormSpread)
            why = $"its weight's largest row norm is {norms.Spread:F1}x the median (the epilogue's bound takes up to {MaxRowNormSpread}x)";
        if (why is not null)
        {
            _res.NoteQuant($"FP8 linear '{n.Name}': its GELU runs in the readers' per-row quantization, not in its GEMM's epilogue: {why}");
            return null;
        }
        var (xq, xs) = RowQuantizedInput(n, x, m, k);
        var ws = Dev(n.In(2)!, VgDType.F32);
        var bias = n.In(4) is string b ? Dev(b, VgDType.BF16) : null;
        IntPtr w = _res.Weight(n.In(1)!);
        var codes = Temp([m, nn], VgDType.FP8E4M3);
        var scales = Temp([m], VgDType.F32);
        var rowScale = Temp([m], VgDType.F32);
        var invHalf = Temp([m], VgDType.F32);
        long workspace = _res.Fp8GeluEpilogueWorkspace(m, nn, k);
        Add(new ActionStep(n.Name + "/gelu/fp8_rows", KernelClass.Gemm, stream =>
        {
            Check(vg_fp8_gelu_row_scales(xs.Ptr, m, k, norms.Norms, ws.Ptr, bias?.Ptr ?? IntPtr.Zero, nn, scales.Ptr, rowScale.Ptr, invHalf.Ptr, stream),
                n.Name + " (row scales of the GELU's codes)");
            Check(vg_fp8_gemm_gelu_rows(xq.Ptr, w, bias?.Ptr ?? IntPtr.Zero, rowScale.Ptr, invHalf.Ptr, m, nn, k, codes.Ptr, _plan.Workspace,
                (nuint)_plan.WorkspaceBytes, stream), n.Name);
        }) { Detail = $"fp8gelum{m}n{nn}k{k}" }, bias is null ? [xq, xs, ws] : [xq, xs, ws, bias], [codes, scales, rowScale, invHalf]);
        _plan.NoteWorkspace(workspace);
        return CodesOnly(n.Outputs[0], Fp8RowsForm, codes, scales, shape, m);
    }

    DeviceValue Fp8BlockLinear(OpNode n, DeviceValue x, long m, long nn, long k, int epilogue, long[] shape)
    {
        RequireMultiples(n, QuantScheme.Fp8Block, nn, k, 128, "cuBLASLt's 128x128 block-scaled FP8 GEMM");
        long mp = (m + 3) / 4 * 4;
        var ws = Dev(n.In(2)!, VgDType.F32);
        var (xq, xs) = QuantizedInput((n.In(0)!, null, "fp8 1x128"), () =>
        {
            var xq = Temp([mp, k], VgDType.FP8E4M3);
            var xs = Temp([k / 128, mp], VgDType.F32);
            Add(new ActionStep(n.Name + "/quantize", KernelClass.Gemm, stream =>
                Check(vg_quantize_fp8_groups(x.Ptr, (int)x.DType, m, k, mp, xq.Ptr, xs.Ptr, stream), n.Name + " (quantize input per 1x128)")),
                [x], [xq, xs]);
            return (xq, xs);
        });
        var plan = _res.Fp8GemmPlan(mp, nn, k, Fp8Scaling.Block128, 0);
        var full = Temp([mp, nn], VgDType.BF16);
        IntPtr w = _res.Weight(n.In(1)!);
        Add(new ActionStep(n.Name, KernelClass.Gemm, stream =>
            Check(vg_fp8_gemm_run(plan.Handle.Ptr, xq.Ptr, xs.Ptr, w, ws.Ptr, IntPtr.Zero, full.Ptr, _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name))
            { Detail = plan.Key }, [xq, xs, ws], [full]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        // the first m rows of the padded product, then the epilogue's bias and GELU(tanh)
        return Epilogue(n, new(n.Name + "/rows", shape, VgDType.BF16, full), shape, epilogue);
    }

    /// <summary>The bias (input 4) and GELU(tanh) of a quantized linear whose GEMM ran without its epilogue.</summary>
    DeviceValue Epilogue(OpNode n, DeviceValue y, long[] shape, int epilogue)
    {
        var c = Layout.Contiguous(shape);
        if (n.In(4) is string b)
        {
            var bias = Dev(b, VgDType.F32);
            var withBias = Temp(shape, VgDType.BF16);
            Nd(n.Name + "/bias", KernelClass.Other, OpRegistry.Binary["Add"], shape, withBias, 0, c, y, 0, c, bias, 0, Layout.BroadcastStrides(bias.Shape, shape));
            y = withBias;
        }
        if (epilogue is 2 or 3)
        {
            var g = Temp(shape, VgDType.BF16);
            Nd(n.Name + "/gelu", KernelClass.Other, OpRegistry.Unary["Gelu"], shape, g, 0, c, y, 0, c, null, 0, null);
            y = g;
        }
        return y;
    }

    DeviceValue Nvfp4Linear(OpNode n, DeviceValue x, long m, long nn, long k, int epilogue, long[] shape)
    {
        if (k % 16 != 0)
            throw new EngineException($"node '{n.Name}' (NVFP4 linear, weight [{nn}, {k}]): NVFP4 needs in features that are a multiple of 16");
        if (_res.Nvfp4OnTensorCores)
        {
            if (_res.Nvfp4GemmPlan(m, nn, k, out string? why) is { } fp4) return Nvfp4TensorCoreLinear(n, x, m, nn, k, epilogue, shape, fp4);
            _res.NoteQuant($"node '{n.Name}' (NVFP4 linear, weight [{nn}, {k}]): weight-only, not on FP4 tensor cores: {why}");
        }
        x = Cast(x, VgDType.BF16);
        IntPtr packed = _res.Weight(n.In(1)!), blockScales = _res.Weight(n.In(2)!);
        var scale2 = Dev(n.In(3)!, VgDType.F32);
        // the scratch bf16 weight lives from the unpack to the GEMM; the memory planner shares it between linears
        var w = Temp([nn, k], VgDType.BF16);
        Add(new ActionStep(n.Name + "/unpack", KernelClass.Gemm, stream =>
            Check(vg_dequantize_nvfp4(packed, blockScales, scale2.Ptr, nn, k, w.Ptr, stream), n.Name + " (unpack NVFP4)")),
            [scale2], [w]);
        return Bf16Gemm(n, x, w, m, nn, k, epilogue, shape);
    }

    /// <summary>A quantized linear's bf16 GEMM on its weight dequantized into <paramref name="w"/> ([N, K] bf16), with the
    /// linear's bias and epilogue.</summary>
    DeviceValue Bf16Gemm(OpNode n, DeviceValue x, DeviceValue w, long m, long nn, long k, int epilogue, long[] shape)
    {
        var o = New(n.Outputs[0] + "#bf16", shape, VgDType.BF16);
        if (k % 8 != 0 || nn % 8 != 0)
        {
            // rows cuBLASLt's GEMM plans do not align (16 bytes): the batched product, as unaligned float linears run
            UnalignedLinear(n.Name, x, () => w.Ptr, w, n.In(4), epilogue, m, nn, k, o);
            return o;
        }
        var plan = _res.GemmPlan(m, nn, k, epilogue, VgDType.BF16);
        var bias = n.In(4) is string b ? Dev(b, VgDType.BF16) : null;
        Add(new ActionStep(n.Name, KernelClass.Gemm, stream =>
            Check(vg_gemm_run(plan.Handle.Ptr, x.Ptr, w.Ptr, bias?.Ptr ?? IntPtr.Zero, IntPtr.Zero, o.Ptr, _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name)),
            bias is null ? [x, w] : [x, w, bias], [o]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        return o;
    }

    /// <summary>An FP8 linear cuBLASLt's FP8 GEMM does not take (in or out features not multiples of 16; small heads of
    /// tiny or unusual models): the e4m3 weight dequantized to bf16 before a bf16 GEMM, the input fake-quantized with
    /// the checkpoint's static input scale when it has one (as the graph computes it), and a line in
    /// <see cref="EngineResources.QuantLog"/>.</summary>
    DeviceValue Fp8DequantizedLinear(OpNode n, DeviceValue x, long m, long nn, long k, int epilogue, long[] shape)
    {
        _res.NoteQuant($"node '{n.Name}' (FP8 linear, weight [{nn}, {k}]): bf16 GEMM on the dequantized weight: cuBLASLt's FP8 GEMM needs in and out features that are multiples of 16");
        x = Cast(x, VgDType.BF16);
        if (n.In(3) is string s)
        {
            var fixedScale = Dev(s, VgDType.F32);
            var xq = Temp([m, k], VgDType.FP8E4M3);
            var xs = Temp([Fp8TensorScaleFloats], VgDType.F32);
            var xd = Temp([m, k], VgDType.BF16);
            var input = x;
            Add(new ActionStep(n.Name + "/fake_quantize", KernelClass.Gemm, stream =>
            {
                Check(vg_quantize_fp8_tensor(input.Ptr, (int)input.DType, m * k, fixedScale.Ptr, xq.Ptr, xs.Ptr, stream), n.Name + " (quantize input)");
                Check(vg_dequantize_fp8(xq.Ptr, xs.Ptr, m * k, xd.Ptr, (int)VgDType.BF16, stream), n.Name + " (dequantize input)");
            }), [input, fixedScale], [xq, xs, xd]);
            x = xd;
        }
        var ws = Dev(n.In(2)!, VgDType.F32);
        IntPtr codes = _res.Weight(n.In(1)!);
        var w = Temp([nn, k], VgDType.BF16);
        Add(new ActionStep(n.Name + "/dequantize", KernelClass.Gemm, stream =>
            Check(vg_dequantize_fp8(codes, ws.Ptr, nn * k, w.Ptr, (int)VgDType.BF16, stream), n.Name + " (dequantize FP8 weight)")),
            [ws], [w]);
        return Bf16Gemm(n, x, w, m, nn, k, epilogue, shape);
    }

    DeviceValue Nvfp4TensorCoreLinear(OpNode n, DeviceValue x, long m, long nn, long k, int epilogue, long[] shape, Nvfp4GemmPlan plan)
    {
        // the NVFP4 codes, tiled block scales and scale floats of the input
        var q = QuantizedInput((n.In(0)!, null, "nvfp4"), () =>
        {
            // byte buffers (packed E2M1 pairs, e4m3 scales) as 1-byte elements
            (DeviceValue Packed, DeviceValue Tiled, DeviceValue Scale) made =
                (Temp([m, k / 2], VgDType.FP8E4M3), Temp([EngineResources.TiledScaleBytes(m, k)], VgDType.FP8E4M3), Temp([Nvfp4ScaleFloats], VgDType.F32));
            var (packed, tiled, scale) = made;
            Add(new ActionStep(n.Name + "/quantize", KernelClass.Gemm, stream =>
                Check(vg_quantize_nvfp4(x.Ptr, (int)x.DType, m, k, packed.Ptr, tiled.Ptr, scale.Ptr, stream), n.Name + " (quantize input to NVFP4)")),
                [x], [packed, tiled, scale]);
            return made;
        });
        IntPtr w = _res.Weight(n.In(1)!), wTiled = _res.WeightTiledScales(n.In(2)!, nn, k);
        var scale2 = Dev(n.In(3)!, VgDType.F32);
        var alpha = Temp([4], VgDType.F32);
        var full = Temp(shape, VgDType.BF16);
        Add(new ActionStep(n.Name, KernelClass.Gemm, stream =>
            Check(vg_nvfp4_gemm_run(plan.Handle.Ptr, q.Packed.Ptr, q.Tiled.Ptr, q.Scale.Ptr, w, wTiled, scale2.Ptr, alpha.Ptr, full.Ptr,
                _plan.Workspace, (nuint)_plan.WorkspaceBytes, stream), n.Name))
            { Detail = plan.Key }, [q.Packed, q.Tiled, q.Scale, scale2], [alpha, full]);
        _plan.NoteWorkspace(plan.WorkspaceBytes);
        return Epilogue(n, full, shape, epilogue);
    }
}
