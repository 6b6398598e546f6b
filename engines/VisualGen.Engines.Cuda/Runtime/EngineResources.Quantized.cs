using System.Runtime.InteropServices;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using static VisualGen.Engines.Cuda.Native.NativeMethods;

namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>A cuBLASLt FP8 GEMM plan shared by every quantized linear of one signature.</summary>
internal sealed class Fp8GemmPlan(string key, Fp8GemmPlanHandle handle, long workspaceBytes)
{
    public string Key { get; } = key;
    public Fp8GemmPlanHandle Handle { get; } = handle;
    /// <summary>The workspace its algorithm needs (changes when <see cref="EngineResources.TuneGemms"/> picks another).</summary>
    public long WorkspaceBytes { get; set; } = workspaceBytes;
}

/// <summary>One FP8 GEMM of a shape plan with its operands: codes and scales of the activation, the weight and its
/// scales, the bias, the output.</summary>
internal sealed record Fp8GemmCall(Fp8GemmPlan Plan, DeviceValue A, DeviceValue AScale, IntPtr W, DeviceValue WScale, DeviceValue? Bias, DeviceValue Out);

/// <summary>A cuBLASLt NVFP4 GEMM plan (FP4 tensor cores) shared by every linear of one signature.</summary>
internal sealed class Nvfp4GemmPlan(string key, Nvfp4GemmPlanHandle handle, long workspaceBytes)
{
    public string Key { get; } = key;
    public Nvfp4GemmPlanHandle Handle { get; } = handle;
    public long WorkspaceBytes { get; } = workspaceBytes;
}

/// <summary>What quantized linears need of the device: its compute capability (checked when a shape is planned, so a
/// scheme the GPU cannot run is an error naming both), the FP8 and NVFP4 GEMM plans, and the weights' NVFP4 block
/// scales in the tiled layout of FP4 tensor cores.</summary>
internal sealed unsafe partial class EngineResources
{
    readonly Dictionary<string, Fp8GemmPlan> _fp8Gemm = new(StringComparer.Ordinal);
    readonly Dictionary<string, Nvfp4GemmPlan> _nvfp4Gemm = new(StringComparer.Ordinal);
    readonly Dictionary<string, DeviceMemory> _tiledScales = new(StringComparer.Ordinal);

    /// <summary>NVFP4 linears unpack their weights to bf16 even where FP4 tensor cores exist (activations stay bf16, as
    /// the fixtures' fake-quant references keep them).</summary>
    public bool Nvfp4WeightOnly { get; init; }

    /// <summary>NVFP4 linears run on FP4 tensor cores, activations quantized to NVFP4 on the device: compute capability
    /// 10.0 or newer (Blackwell), unless <see cref="Nvfp4WeightOnly"/>. Hopper unpacks the weights to bf16.</summary>
    public bool Nvfp4OnTensorCores => Capability.Major >= 10 && !Nvfp4WeightOnly;

    /// <summary>One line per quantized linear whose execution differs from its scheme's usual path, and why (once,
    /// however many shapes are planned: <see cref="NoteQuant"/>).</summary>
    public List<string> QuantLog { get; } = [];

    public void NoteQuant(string line)
    {
        if (QuantLog.Contains(line)) return;
        QuantLog.Add(line);
        // the user's log gets each kind of line once: repeated blocks (blocks.0/, blocks.1/, ...) read as blocks.*/
        string kind = RepeatedBlock().Replace(line, ".*/");
        if (_reported.Add(kind)) Log?.Report("native-cuda: " + kind);
    }

    readonly HashSet<string> _reported = new(StringComparer.Ordinal);

    [System.Text.RegularExpressions.GeneratedRegex(@"\.\d+/")]
    private static partial System.Text.RegularExpressions.Regex RepeatedBlock();

    /// <summary>Where <see cref="NoteQuant"/> lines go for the user (the CLI's and the server's log), once per kind.</summary>
    public IProgress<string>? Log { get; init; }

    /// <summary>The device's compute capability (major, minor); dry runs take what the test gives (default Hopper).</summary>
    public (int Major, int Minor) ComputeCapability { get; init; } = (9, 0);
    /// <summary>The device's name, for messages.</summary>
    public string DeviceName { get; init; } = "a dry run";

    (int, int) _cc;
    string? _name;

    /// <summary>The capability the checks use: the device's once read, else <see cref="ComputeCapability"/>.</summary>
    public (int Major, int Minor) Capability => _name is null ? ComputeCapability : _cc;
    string Name => _name ?? DeviceName;

    void ReadDevice(int device)
    {
        DeviceInfo info = default;
        info.StructSize = (uint)sizeof(DeviceInfo);
        Check(vg_get_device_info(device, &info), "vg_get_device_info");
        _cc = (info.CcMajor, info.CcMinor);
        _name = System.Text.Encoding.UTF8.GetString(new ReadOnlySpan<byte>(info.Name, 256)).TrimEnd('\0');
    }

    /// <summary>Throws an <see cref="EngineException"/> naming the scheme, the node and the GPU when this device cannot
    /// run <paramref name="scheme"/>: cuBLASLt's per-tensor FP8 GEMMs need sm_89 or newer; its 1x128/128x128 block
    /// scaling runs on Hopper (sm_90) only. NVFP4 runs everywhere: on FP4 tensor cores from compute capability 10.0,
    /// elsewhere unpacked to bf16 before a bf16 GEMM.</summary>
    public void RequireScheme(string scheme, string node)
    {
        var (major, minor) = Capability;
        int cc = major * 10 + minor;
        string? why = scheme switch
        {
            QuantScheme.Fp8 when cc < 89 => "cuBLASLt's FP8 GEMMs need compute capability 8.9 or newer",
            QuantScheme.Fp8Block when major != 9 => "cuBLASLt's 1x128/128x128 block-scaled FP8 GEMMs run on Hopper (compute capability 9.0) only",
            _ => null,
        };
        if (why is not null)
            throw new EngineException($"node '{node}': the {scheme} linear cannot run on {Name} (compute capability {major}.{minor}): {why}. " +
                "Run this checkpoint on ONNX Runtime (--engine ort-cpu or ort-cuda), or quantize it with a scheme this GPU runs");
    }

    public Fp8GemmPlan Fp8GemmPlan(long m, long n, long k, Fp8Scaling scaling, int epilogue)
    {
        if (TryFp8GemmPlan(m, n, k, scaling, epilogue, out var why) is { } plan) return plan;
        // measured on an H200 with cuBLASLt 13.1: the block-scaled descriptor (1x128 activation groups, 128x128 weight
        // blocks) gets CUBLAS_STATUS_INVALID_VALUE from the heuristic, so FP8_BLOCK_SCALES cannot run here yet
        if (scaling == Fp8Scaling.Block128)
            throw new EngineException($"FP8_BLOCK_SCALES on the native CUDA engine: cuBLASLt has no block-scaled FP8 GEMM for [{m}, {k}] x [{k}, {n}] on {Name} " +
                $"({why}); run this checkpoint with --engine ort-cpu, or quantize it with FP8 (per tensor) or NVFP4");
        throw new EngineException($"FP8 GEMM plan [{m}, {k}] x [{k}, {n}] ({scaling} scaling) on {Name}: {why}");
    }

    /// <summary>The FP8 GEMM plan of one signature and scaling, shared by every linear of that signature, or null (with
    /// cuBLASLt's reason in <paramref name="why"/>) when cuBLASLt has none for it (e.g. per-row scaling before
    /// Hopper).</summary>
    public Fp8GemmPlan? TryFp8GemmPlan(long m, long n, long k, Fp8Scaling scaling, int epilogue, out string? why)
    {
        why = null;
        bool fast = Fp8FastAccumulation && scaling != Fp8Scaling.Block128;
        string key = $"fp8m{m}n{n}k{k}s{(int)scaling}e{epilogue}{(fast ? "f" : "")}";
        if (_fp8Gemm.TryGetValue(key, out var p)) return p;
        if (DryRun) return _fp8Gemm[key] = new Fp8GemmPlan(key, null!, 0);
        var d = new Fp8GemmDesc { StructSize = (uint)sizeof(Fp8GemmDesc), M = m, N = n, K = k, Scaling = (int)scaling, Epilogue = epilogue, FastAccumulation = fast ? 1 : 0 };
        if (vg_fp8_gemm_plan_create(Context.Ptr, &d, out var h) != 0)
        {
            why = Marshal.PtrToStringUTF8(vg_last_error());
            return null;
        }
        var handle = new Fp8GemmPlanHandle(h);
        if (Algorithms.TryGetValue(key, out var blob))
            fixed (byte* b = blob)
                if (vg_fp8_gemm_plan_set_algo(h, b, (nuint)blob.Length) != 0) { /* another cuBLASLt: keep the heuristic choice */ }
        Check(vg_fp8_gemm_plan_workspace_size(h, out var ws), "vg_fp8_gemm_plan_workspace_size");
        return _fp8Gemm[key] = new Fp8GemmPlan(key, handle, (long)ws);
    }

    /// <summary>The NVFP4 GEMM plan of one signature, or null (with the reason in <paramref name="why"/>) when cuBLASLt
    /// has none for it.</summary>
    public Nvfp4GemmPlan? Nvfp4GemmPlan(long m, long n, long k, out string? why)
    {
        why = null;
        string key = $"nvfp4m{m}n{n}k{k}";
        if (_nvfp4Gemm.TryGetValue(key, out var p)) return p;
        if (k % 64 != 0 || n % 16 != 0)
        {
            why = $"the FP4 GEMM needs in features a multiple of 64 and out features of 16 (weight [{n}, {k}])";
            return null;
        }
        if (DryRun) return _nvfp4Gemm[key] = new Nvfp4GemmPlan(key, null!, 0);
        var d = new Nvfp4GemmDesc { StructSize = (uint)sizeof(Nvfp4GemmDesc), M = m, N = n, K = k };
        if (vg_nvfp4_gemm_plan_create(Context.Ptr, &d, out var h) != 0)
        {
            why = Marshal.PtrToStringUTF8(vg_last_error());
            return null;
        }
        var handle = new Nvfp4GemmPlanHandle(h);
        Check(vg_nvfp4_gemm_plan_workspace_size(h, out var ws), "vg_nvfp4_gemm_plan_workspace_size");
        return _nvfp4Gemm[key] = new Nvfp4GemmPlan(key, handle, (long)ws);
    }

    /// <summary>Bytes of the tiled NVFP4 block scales of a [rows, cols] operand (vg_nvfp4_tiled_scale_bytes): 128-row x
    /// 4-block tiles of 512 bytes.</summary>
    public static long TiledScaleBytes(long rows, long cols) => (rows + 127) / 128 * 128 * ((cols / 16 + 3) / 4 * 4);

    /// <summary>The NVFP4 block scales of weight <paramref name="name"/> ([rows, cols / 16] e4m3) in the tiled layout of
    /// FP4 tensor cores, made on the device once, when the first shape that needs them is planned, and kept with the
    /// engine.</summary>
    public IntPtr WeightTiledScales(string name, long rows, long cols)
    {
        if (DryRun) return IntPtr.Zero;
        if (_tiledScales.TryGetValue(name, out var m)) return m.Ptr;
        m = DeviceMemory.Allocate(TiledScaleBytes(rows, cols));
        Check(vg_swizzle_nvfp4_scales(Weight(name), rows, cols, m.Ptr, Stream.Ptr), $"tiled NVFP4 scales of '{name}'");
        Stream.Synchronize();
        _tiledScales[name] = m;
        return m.Ptr;
    }

    /// <summary>A dynamic FP8 linear whose GELU is read only by per-row scaled FP8 linears (a DiT's FFN up projection)
    /// runs one CUTLASS GEMM whose epilogue writes their codes (vg_fp8_gemm_gelu_rows) instead of a bf16 product and a
    /// GELU + quantization pass. Off in a bare <see cref="EngineResources"/>; the backend turns it on by default.</summary>
    public bool Fp8GeluEpilogue { get; init; }

    string? _geluEpilogueWhy;
    bool _geluEpilogueProbed;

    /// <summary>Why the library or this GPU has no fused FP8 GEMM + GELU kernel (built without CUTLASS, not Hopper), or
    /// null where it has one; probed once. A dry run answers by <see cref="ComputeCapability"/>.</summary>
    public string? Fp8GeluEpilogueUnavailable
    {
        get
        {
            if (_geluEpilogueProbed) return _geluEpilogueWhy;
            _geluEpilogueProbed = true;
            if (DryRun)
                _geluEpilogueWhy = Capability.Major == 9 ? null : $"the kernel is Hopper's (compute capability 9.x), not {Capability.Major}.{Capability.Minor}";
            else if (vg_fp8_gemm_gelu_rows_workspace_size(128, 256, 128, out _) != 0)
                _geluEpilogueWhy = Marshal.PtrToStringUTF8(vg_last_error());
            return _geluEpilogueWhy;
        }
    }

    /// <summary>Workspace bytes of the fused FP8 GEMM + GELU kernel at one shape (0 in a dry run).</summary>
    public long Fp8GeluEpilogueWorkspace(long m, long n, long k)
    {
        if (DryRun) return 0;
        Check(vg_fp8_gemm_gelu_rows_workspace_size(m, n, k, out var bytes), "vg_fp8_gemm_gelu_rows_workspace_size");
        return (long)bytes;
    }

    readonly Dictionary<string, (DeviceMemory Norms, double Spread)> _rowNorms = new(StringComparer.Ordinal);

    /// <summary>The L2 norms of the rows of FP8 weight <paramref name="name"/> ([rows, cols] e4m3 codes), made on the
    /// device once (vg_fp8_weight_row_norms) and kept with the engine: the fused GELU epilogue's row-scale bound; and
    /// their spread, the largest over the median (1 in a dry run).</summary>
    public unsafe (IntPtr Norms, double Spread) WeightRowNorms(string name, long rows, long cols)
    {
        if (DryRun) return (IntPtr.Zero, 1.0);
        if (_rowNorms.TryGetValue(name, out var made)) return (made.Norms.Ptr, made.Spread);
        var m = DeviceMemory.Allocate(rows * sizeof(float));
        Check(vg_fp8_weight_row_norms(Weight(name), rows, cols, m.Ptr, Stream.Ptr), $"row norms of '{name}'");
        var host = new float[rows];
        fixed (float* p = host)
        {
            Check(vg_memcpy_async((IntPtr)p, m.Ptr, (nuint)(rows * sizeof(float)), 1, Stream.Ptr), $"row norms of '{name}'");
            Stream.Synchronize();  // while the buffer is pinned
        }
        var sorted = host.Order().ToArray();
        double median = sorted[sorted.Length / 2], spread = median > 0 ? sorted[^1] / median : double.PositiveInfinity;
        _rowNorms[name] = (m, spread);
        return (m.Ptr, spread);
    }

    void DisposeQuantized()
    {
        foreach (var m in _rowNorms.Values) m.Norms.Dispose();
        _rowNorms.Clear();
        foreach (var p in _fp8Gemm.Values) p.Handle?.Dispose();
        foreach (var p in _nvfp4Gemm.Values) p.Handle?.Dispose();
        foreach (var m in _tiledScales.Values) m.Dispose();
        _fp8Gemm.Clear();
        _nvfp4Gemm.Clear();
        _tiledScales.Clear();
    }
}
