using VisualGen.Engines.Cuda.Native;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>A cuBLASLt plan shared by every GEMM of one signature.</summary>
internal sealed class GemmPlan(string key, GemmPlanHandle handle, long workspaceBytes)
{
    public string Key { get; } = key;
    public GemmPlanHandle Handle { get; } = handle;
    public long WorkspaceBytes { get; set; } = workspaceBytes;
}

internal sealed class ConvPlan(string key, ConvPlanHandle handle, long workspaceBytes, long[] outSize)
{
    public string Key { get; } = key;
    public ConvPlanHandle Handle { get; } = handle;
    public long WorkspaceBytes { get; } = workspaceBytes;
    public long[] OutSize { get; } = outSize;
}

internal sealed class AttentionPlan(string key, AttentionPlanHandle handle, long workspaceBytes)
{
    public string Key { get; } = key;
    public AttentionPlanHandle Handle { get; } = handle;
    public long WorkspaceBytes { get; set; } = workspaceBytes;

    /// <summary>The chosen kernel and every candidate's time (vg_attention_plan_describe).</summary>
    public unsafe string Describe()
    {
        if (Handle is null) return Key;
        var buf = new byte[2048];
        fixed (byte* b = buf) Check(vg_attention_plan_describe(Handle.Ptr, b, (nuint)buf.Length), "vg_attention_plan_describe");
        int n = Array.IndexOf(buf, (byte)0);
        return Key + ": " + System.Text.Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
    }
}

/// <summary>A Sage-style quantized attention plan (vg_sage_attention_*) and the block sizes it runs.</summary>
internal sealed class SageAttentionPlan(string key, SageAttentionPlanHandle handle, long workspaceBytes, int blockQ, int blockK,
    long qCodesBytes)
{
    public string Key { get; } = key;
    public SageAttentionPlanHandle Handle { get; } = handle;
    public long WorkspaceBytes { get; } = workspaceBytes;
    /// <summary>Bytes of Q's codes and scales as vg_sage_quantize_q_norm_rope writes them (VG_SAGE_PHASE_KV_ATTEND's q).</summary>
    public long QCodesBytes { get; } = qCodesBytes;
    public int BlockQ { get; } = blockQ;
    public int BlockK { get; } = blockK;
}

/// <summary>What one loaded engine holds on the device for all shapes: the context, the stream, the packed weights,
/// and GEMM/attention plans by signature (with the tuned GEMM algorithms of the engine file).</summary>
internal sealed unsafe partial class EngineResources : IDisposable
{
    readonly Dictionary<string, GemmPlan> _gemm = new(StringComparer.Ordinal);
    readonly Dictionary<string, AttentionPlan> _attention = new(StringComparer.Ordinal);
    readonly Dictionary<string, SageAttentionPlan> _sage = new(StringComparer.Ordinal);
    readonly Dictionary<string, IntPtr> _weights = new(StringComparer.Ordinal);
    DeviceMemory? _weightMemory;

    public ContextHandle Context { get; } = null!;
    public StreamHandle Stream { get; } = null!;
    /// <summary>Plans without a GPU: no handles, no allocations (the CPU tests of the planner).</summary>
    public bool DryRun { get; }
    public long Bf16MinRows { get; init; } = 64;
    /// <summary>Every activation in float32 (<see cref="Bf16MinRows"/> = long.MaxValue): VAEs, as diffusers runs
    /// them; convolutions then use TF32 tensor cores as PyTorch's defaults do, attention takes the general fp32 path.</summary>
    public bool Float32Activations => Bf16MinRows == long.MaxValue;
    readonly Dictionary<string, ConvPlan> _conv = new(StringComparer.Ordinal);
    /// <summary>Allocations of the resident tensors this engine hands out (<see cref="CudaTensor"/>): the pool of its device,
    /// shared with the other engines there.</summary>
    public TensorPool Tensors { get; }
    /// <summary>The device's activation arena, shared with the other engines there (null for dry-run plans).</summary>
    public DeviceArena Arena { get; } = null!;
    /// <summary>Time every cuDNN candidate of a new attention plan on random data of its shape and keep the fastest.
    /// Off by default: on H100 cuDNN's own first choice was the fastest within noise at the Wan shapes
    /// (tools/bench/RESULTS.md, 2026-11-26 attention gap), and tuning adds seconds to planning a shape.</summary>
    public bool TuneAttention { get; set; }
    /// <summary>Self-attention in FP8 (<see cref="AttentionPrecision.Fp8"/>), Sage-style INT8/FP8
    /// (<see cref="AttentionPrecision.Sage"/>) or bf16.</summary>
    public AttentionPrecision Attention { get; init; }
    /// <summary>Cross-attention runs Sage-style too under <see cref="AttentionPrecision.Sage"/>.</summary>
    public bool SageCrossAttention { get; init; }
    /// <summary>Under Sage attention, a cross-attention on a weight-only RMSNorm's q runs cuDNN's FP8 kernel, its output
    /// read as codes by an FP8 O projection (ShapePlanner.CrossFp8.cs). Off in a bare <see cref="EngineResources"/>.</summary>
    public bool Fp8CrossAttention { get; init; }
    /// <summary>Per-tensor FP8 GEMMs accumulate in the tensor core's FP8 accumulator (cuBLASLt FAST_ACCUM).</summary>
    public bool Fp8FastAccumulation { get; init; }
    /// <summary>Dynamic FP8 linears quantize activations per row (token) with cuBLASLt's per-row GEMM scaling.</summary>
    public bool Fp8RowActivations { get; init; }
    /// <summary>Queries per CTA of the Sage kernel (64 or 128; 0 = the library's default, 64).</summary>
    public int SageBlockQ { get; init; }
    /// <summary>Keys per main-loop step of the Sage kernel (64 or 128; 0 = the library's default, 64).</summary>
    public int SageBlockK { get; init; }
    /// <summary>Query / key tokens per INT8 scale of the Sage pre-pass.</summary>
    public VisualGen.Quantization.SageScaleBlocks SageBlocks { get; init; } = VisualGen.Quantization.SageScaleBlocks.Default;
    /// <summary>One line per attention plan made: its key, the chosen kernel and the candidates' times.</summary>
    public List<string> AttentionLog { get; } = [];
    /// <summary>Tuned algorithms by GEMM signature (from the engine file, or from tuning at build).</summary>
    public Dictionary<string, byte[]> Algorithms { get; } = new(StringComparer.Ordinal);

    public EngineResources() { DryRun = true; Tensors = new(); }

    public EngineResources(int device)
    {
        Tensors = TensorPool.Acquire(device);
        Arena = DeviceArena.Acquire(device);
        try
        {
            Context = ContextHandle.Create(device);
            Stream = StreamHandle.Create();
            ReadDevice(device);
        }
        catch
        {
            Stream?.Dispose();
            Context?.Dispose();
            Tensors.Release();
            Arena.Release();
            throw;
        }
    }

    public IEnumerable<GemmPlan> GemmPlans => _gemm.Values;

    /// <summary>Uploads the packed weights into one arena.</summary>
    public void UploadWeights(IReadOnlyList<(string Name, long Bytes, Model.ConstTensor Weight)> weights)
    {
        long total = weights.Sum(w => (w.Bytes + 255) / 256 * 256);
        _weightMemory = DeviceMemory.Allocate(total);
        long at = 0;
        foreach (var (name, bytes, weight) in weights)
        {
            // the bytes as a view of the mapped file (no host copy); the upload synchronizes before the view is unmapped
            weight.WithBytes(data =>
            {
                if (data.Length != bytes) throw new EngineException($"weight '{name}' has {data.Length} bytes, the plan says {bytes}");
                _weightMemory.Upload(data, Stream, at);
            });
            weight.Release();
            _weights[name] = _weightMemory.Ptr + (nint)at;
            at += (bytes + 255) / 256 * 256;
        }
    }

    public IntPtr Weight(string name) => DryRun ? IntPtr.Zero :
        _weights.TryGetValue(name, out var p) ? p : throw new EngineException($"packed weight '{name}' is not in the engine");

    readonly Dictionary<string, DeviceMemory> _bf16Weights = new(StringComparer.Ordinal);

    /// <summary>A bf16 copy of the fp32 packed weight <paramref name="name"/> of <paramref name="count"/> elements (the
    /// convolution kernels of an engine whose activations are bf16), converted on the device once, when the first shape
    /// that needs it is planned, and kept with the engine.</summary>
    public IntPtr WeightAsBf16(string name, long count)
    {
        if (DryRun) return IntPtr.Zero;
        if (_bf16Weights.TryGetValue(name, out var m)) return m.Ptr;
        IntPtr src = Weight(name);
        m = DeviceMemory.Allocate(count * 2);
        NdTensor to = default, ta = default;
        to.Ptr = m.Ptr; to.DType = (int)VgDType.BF16; to.Strides[0] = 1;
        ta.Ptr = src; ta.DType = (int)VgDType.F32; ta.Strides[0] = 1;
        long n = count;
        Check(vg_nd(0, 1, &n, &to, &ta, null, Stream.Ptr), $"bf16 copy of '{name}'");
        Stream.Synchronize();
        _bf16Weights[name] = m;
        return m.Ptr;
    }

    /// <summary>Bytes of the bf16 weight copies (<see cref="WeightAsBf16"/>).</summary>
    public long ConvertedWeightBytes => _bf16Weights.Values.Sum(m => m.Bytes);

    public GemmPlan GemmPlan(long m, long n, long k, int epilogue, VgDType outType)
    {
        string key = $"m{m}n{n}k{k}e{epilogue}o{(int)outType}";
        if (_gemm.TryGetValue(key, out var p)) return p;
        if (DryRun) return _gemm[key] = new GemmPlan(key, null!, 0);
        var d = new GemmDesc
        {
            StructSize = (uint)sizeof(GemmDesc), M = m, N = n, K = k, ADType = 1, WDType = 1, OutDType = (int)outType, BiasDType = (int)outType,
            WLayout = 0, Epilogue = epilogue, Alpha = 1, Beta = 0,
        };
        Check(vg_gemm_plan_create(Context.Ptr, &d, out var h), $"GEMM plan {key}");
        var handle = new GemmPlanHandle(h);
        if (Algorithms.TryGetValue(key, out var blob))
            fixed (byte* b = blob)
                if (vg_gemm_plan_set_algo(h, b, (nuint)blob.Length) != 0) { /* another cuBLASLt: keep the heuristic choice */ }
        Check(vg_gemm_plan_workspace_size(h, out var ws), "vg_gemm_plan_workspace_size");
        p = new GemmPlan(key, handle, (long)ws);
        _gemm[key] = p;
        return p;
    }

    /// <summary>Whether an attention of this shape runs in FP8 under <see cref="Attention"/>: self-attention whose
    /// head_dim the FP8 kernel takes.</summary>
    public bool Fp8Attention(long sq, long skv, long d) =>
        Attention == AttentionPrecision.Fp8 && sq == skv && d % 16 == 0 && d <= 128;

    /// <summary>Whether an attention of this shape runs Sage-style under <see cref="Attention"/>: self-attention (query and
    /// key/value of the same length), and cross-attention when <see cref="SageCrossAttention"/> is set, with head_dim 64
    /// or 128, the head sizes the kernel is compiled for. Every other attention runs bf16, the same per-attention rule as
    /// FP8's.</summary>
    public bool SageAttention(long sq, long skv, long d) =>
        Attention == AttentionPrecision.Sage && (sq == skv || SageCrossAttention) && (d == 64 || d == 128);

    /// <summary>The Sage plan of one shape (shared by every attention of that shape).</summary>
    public SageAttentionPlan SagePlan(long b, long h, long hkv, long sq, long skv, long d, float scale)
    {
        string key = $"b{b}h{h}kv{hkv}q{sq}k{skv}d{d}s{scale}sage{SageBlockQ}x{SageBlockK}scales{SageBlocks}";
        if (_sage.TryGetValue(key, out var p)) return p;
        if (DryRun)
            return _sage[key] = new SageAttentionPlan(key, null!, SageWorkspaceBytes(b, h, hkv, sq, skv, d),
                SageBlockQ == 0 ? 64 : SageBlockQ, SageBlockK == 0 ? 64 : SageBlockK, SageQCodesBytes(b, h, sq, d));
        var desc = new SageAttentionDesc
        {
            StructSize = (uint)sizeof(SageAttentionDesc), Batch = b, Heads = h, KvHeads = hkv, QLen = sq, KvLen = skv,
            HeadDim = d, Scale = scale, BlockQ = SageBlockQ, BlockK = SageBlockK,
            QScaleTokens = SageBlocks.Query, KScaleTokens = SageBlocks.Key,
        };
        Check(vg_sage_attention_plan_create(Context.Ptr, &desc, out var ph), $"Sage attention plan {key}");
        var handle = new SageAttentionPlanHandle(ph);
        Check(vg_sage_attention_plan_workspace_size(ph, out var ws), "vg_sage_attention_plan_workspace_size");
        Check(vg_sage_attention_plan_blocks(ph, out int bq, out int bk), "vg_sage_attention_plan_blocks");
        // the buffer of Q's codes that the fused q step writes (ShapePlanner.SageQ.cs)
        Check(vg_sage_attention_plan_q_codes_bytes(ph, out var qCodes), "vg_sage_attention_plan_q_codes_bytes");
        p = new SageAttentionPlan(key, handle, (long)ws, bq, bk, (long)qCodes);
        _sage[key] = p;
        AttentionLog.Add($"{key}: Sage (INT8 Q·Kᵀ, FP8 P·V), blocks {bq}x{bk}, one INT8 scale per {SageBlocks.Query} queries / {SageBlocks.Key} keys, workspace {ws} bytes");
        return p;
    }

    /// <summary>The Sage workspace of a shape as native/src/attention_sage.cu lays it out (quantized q, k, transposed v,
    /// their scales and the K-mean partials, each region rounded up to 256 bytes; sequences padded to 128): the library
    /// reports it for real plans, this mirrors it for plans made without a GPU.</summary>
    public static long SageWorkspaceBytes(long b, long h, long hkv, long sq, long skv, long d)
    {
        static long Up(long x, long m) => (x + m - 1) / m * m;
        long sqPad = Up(sq, 128), skvPad = Up(skv, 128), chunks = (skv + 255) / 256;
        long[] regions =
        [
            b * h * sqPad * d, b * hkv * skvPad * d, b * hkv * d * skvPad, // q8, k8, vt8
            b * h * (sqPad / 16) * 4, b * hkv * (skvPad / 64) * 4,       // q and k scales
            b * hkv * d * 4, b * hkv * d * 4,                             // v scales, k mean
            b * hkv * chunks * d * 4, b * hkv * chunks * d * 4,           // partial sums and maxima
        ];
        return regions.Sum(r => Up(r, 256));
    }

    /// <summary>Q's INT8 codes [b, h, sq padded to 128, d] (rounded up to 256 bytes) and their scales, one fp32 per 16
    /// queries of a head (sage.h's q_codes_layout): mirrored for plans made without a GPU.</summary>
    public static long SageQCodesBytes(long b, long h, long sq, long d)
    {
        long sqPad = (sq + 127) / 128 * 128;
        return (b * h * sqPad * d + 255) / 256 * 256 + b * h * (sqPad / 16) * 4;
    }

    public AttentionPlan AttentionPlan(long b, long h, long hkv, long sq, long skv, long d, float scale, bool fp8 = false)
    {
        string key = $"b{b}h{h}kv{hkv}q{sq}k{skv}d{d}s{scale}{(fp8 ? "fp8" : "")}";
        if (_attention.TryGetValue(key, out var p)) return p;
        if (DryRun) return _attention[key] = new AttentionPlan(key, null!, 0);
        int dtype = (int)(fp8 ? VgDType.FP8E4M3 : VgDType.BF16);
        var desc = new AttentionDesc
        {
            StructSize = (uint)sizeof(AttentionDesc), Kernel = 0, QkvDType = dtype, OutDType = dtype,
            Batch = b, Heads = h, KvHeads = hkv, QLen = sq, KvLen = skv, HeadDim = d, Scale = scale,
        };
        Check(vg_attention_plan_create(Context.Ptr, &desc, out var ph), $"attention plan {key}");
        var handle = new AttentionPlanHandle(ph);
        if (TuneAttention && !fp8) TuneAttentionPlan(handle, b, h, hkv, sq, skv, d);
        Check(vg_attention_plan_workspace_size(ph, out var ws), "vg_attention_plan_workspace_size");
        p = new AttentionPlan(key, handle, (long)ws);
        _attention[key] = p;
        AttentionLog.Add(p.Describe());
        return p;
    }

    /// <summary><see cref="AttentionPlan"/>, or null with cuDNN's reason where it has no plan for the shape.</summary>
    public AttentionPlan? TryAttentionPlan(long b, long h, long hkv, long sq, long skv, long d, float scale, bool fp8, out string? why)
    {
        why = null;
        try { return AttentionPlan(b, h, hkv, sq, skv, d, scale, fp8); }
        catch (EngineException e)
        {
            why = e.Message;
            return null;
        }
    }

    /// <summary>Times the plan's candidates on scratch q/k/v filled with uniform random bf16 in [-1, 1) (a 16 MiB random
    /// block repeated) and keeps the fastest. Runs while a shape is planned, before its buffers exist.</summary>
    void TuneAttentionPlan(AttentionPlanHandle plan, long b, long h, long hkv, long sq, long skv, long d)
    {
        Check(vg_attention_plan_tune_workspace_size(plan.Ptr, out var wsAll), "vg_attention_plan_tune_workspace_size");
        wsAll = Math.Min(wsAll, (nuint)1 << 30); // candidates needing more than 1 GiB of workspace are skipped
        long qBytes = b * sq * h * d * 2, kvBytes = b * skv * hkv * d * 2;
        using var q = DeviceMemory.Allocate(qBytes);
        using var k = DeviceMemory.Allocate(kvBytes);
        using var v = DeviceMemory.Allocate(kvBytes);
        using var o = DeviceMemory.Allocate(qBytes);
        using var ws = wsAll > 0 ? DeviceMemory.Allocate((long)wsAll) : null;
        var rng = new Random(20261126);
        const int chunk = 8 << 20;
        var block = new ushort[chunk + (3 << 20)];
        for (int i = 0; i < block.Length; i++)
            block[i] = (ushort)(BitConverter.SingleToUInt32Bits((float)(rng.NextDouble() * 2 - 1)) >> 16);
        // k and v start at other offsets of the block than q, so q·k is not a repeated row against itself
        foreach (var (mem, bytes, shift) in new[] { (q, qBytes, 0), (k, kvBytes, 1 << 20), (v, kvBytes, 3 << 20) })
            for (long at = 0; at < bytes; at += chunk * 2L)
                mem.Upload<ushort>(block.AsSpan(shift, (int)Math.Min(chunk, (bytes - at) / 2)), Stream, at);
        var args = new AttentionArgs
        {
            StructSize = (uint)sizeof(AttentionArgs), Q = q.Ptr, K = k.Ptr, V = v.Ptr, Out = o.Ptr,
            Workspace = ws?.Ptr ?? IntPtr.Zero, WorkspaceBytes = wsAll,
        };
        float ms; int tried;
        Check(vg_attention_plan_tune(plan.Ptr, &args, 5, Stream.Ptr, &ms, &tried), "vg_attention_plan_tune");
    }

    /// <summary>A cuDNN convolution plan for one signature (shared by every conv of that shape); in a dry run the
    /// output size is computed here.</summary>
    public ConvPlan ConvPlan(ConvDesc d)
    {
        var p = &d;
        string key = $"c{d.DType}s{d.SpatialDims}b{d.Batch}i{d.InChannels}o{d.OutChannels}";
        for (int i = 0; i < d.SpatialDims; i++) key += $"|{p->InSize[i]},{p->Kernel[i]},{p->Stride[i]},{p->Pad[i]},{p->Dilation[i]}";
        if (_conv.TryGetValue(key, out var cp)) return cp;
        var outSize = new long[d.SpatialDims];
        for (int i = 0; i < d.SpatialDims; i++)
            outSize[i] = (p->InSize[i] + 2 * p->Pad[i] - p->Dilation[i] * (p->Kernel[i] - 1) - 1) / p->Stride[i] + 1;
        if (DryRun) return _conv[key] = new ConvPlan(key, null!, 0, outSize);
        d.StructSize = (uint)sizeof(ConvDesc);
        Check(vg_conv_plan_create(Context.Ptr, &d, out var h), $"convolution plan {key}");
        var handle = new ConvPlanHandle(h);
        long* os = stackalloc long[3];
        Check(vg_conv_plan_info(h, out var ws, os), "vg_conv_plan_info");
        for (int i = 0; i < d.SpatialDims; i++)
            if (os[i] != outSize[i]) throw new EngineException($"convolution plan {key}: cuDNN's output size {os[i]} differs from {outSize[i]}");
        return _conv[key] = new ConvPlan(key, handle, (long)ws, outSize);
    }

    /// <summary>Drops the attention plans (the next shape plans make and, with <see cref="TuneAttention"/>, tune new ones).</summary>
    public void ReleaseAttentionPlans()
    {
        foreach (var p in _attention.Values) p.Handle?.Dispose();
        _attention.Clear();
        foreach (var p in _sage.Values) p.Handle?.Dispose();
        _sage.Clear();
    }

    /// <summary>Times the GEMM algorithms of every plan, bf16 and FP8, on a shape plan's buffers (after a forward filled
    /// them with real activations) and records the winners.</summary>
    public List<string> TuneGemms(ShapePlan plan, int candidates = 8, int iterations = 5)
    {
        var lines = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (g, a, w, bias, o) in plan.Gemms)
        {
            if (!seen.Add(g.Key)) continue;
            float ms; int tried;
            Check(vg_gemm_plan_tune(g.Handle.Ptr, a.Ptr, w, bias?.Ptr ?? IntPtr.Zero, IntPtr.Zero, o.Ptr, plan.Workspace, (nuint)plan.WorkspaceBytes,
                candidates, iterations, Stream.Ptr, &ms, &tried), $"tuning GEMM {g.Key}");
            g.WorkspaceBytes = KeepTuned(g.Key, g.Handle.Ptr, fp8: false);
            lines.Add($"{g.Key}: {ms:F3} ms ({tried} algorithms timed)");
        }
        foreach (var f in plan.Fp8Gemms)
        {
            var g = f.Plan;
            if (!seen.Add(g.Key)) continue;
            float ms; int tried;
            Check(vg_fp8_gemm_plan_tune(g.Handle.Ptr, f.A.Ptr, f.AScale.Ptr, f.W, f.WScale.Ptr, f.Bias?.Ptr ?? IntPtr.Zero, f.Out.Ptr,
                plan.Workspace, (nuint)plan.WorkspaceBytes, candidates, iterations, Stream.Ptr, &ms, &tried), $"tuning FP8 GEMM {g.Key}");
            g.WorkspaceBytes = KeepTuned(g.Key, g.Handle.Ptr, fp8: true);
            lines.Add($"{g.Key}: {ms:F3} ms ({tried} algorithms timed)");
        }
        return lines;
    }

    /// <summary>Records a tuned plan's algorithm for the engine cache; returns the workspace it needs.</summary>
    long KeepTuned(string key, IntPtr handle, bool fp8)
    {
        var blob = new byte[GemmAlgoBlobBytes];
        fixed (byte* p = blob)
            Check(fp8 ? vg_fp8_gemm_plan_get_algo(handle, p, GemmAlgoBlobBytes) : vg_gemm_plan_get_algo(handle, p, GemmAlgoBlobBytes),
                $"the algorithm of GEMM {key}");
        Algorithms[key] = blob;
        nuint ws;
        Check(fp8 ? vg_fp8_gemm_plan_workspace_size(handle, out ws) : vg_gemm_plan_workspace_size(handle, out ws), $"the workspace of GEMM {key}");
        return (long)ws;
    }

    public void Dispose()
    {
        foreach (var p in _gemm.Values) p.Handle?.Dispose();
        foreach (var p in _attention.Values) p.Handle?.Dispose();
        foreach (var p in _conv.Values) p.Handle?.Dispose();
        foreach (var p in _sage.Values) p.Handle?.Dispose();
        _gemm.Clear(); _attention.Clear(); _conv.Clear(); _sage.Clear();
        DisposeQuantized();
        _weightMemory?.Dispose();
        foreach (var m in _bf16Weights.Values) m.Dispose();
        _bf16Weights.Clear();
        Tensors.Release();
        Arena?.Release();
        Stream?.Dispose();
        Context?.Dispose();
    }
}
