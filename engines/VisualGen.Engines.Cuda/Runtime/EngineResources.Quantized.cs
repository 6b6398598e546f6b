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
    public long WorkspaceBytes { get; } = workspaceBytes;
}

/// <summary>What quantized linears need of the device: its compute capability (checked when a shape is planned, so a
/// scheme the GPU cannot run is an error naming both) and the FP8 GEMM plans.</summary>
internal sealed unsafe partial class EngineResources
{
    readonly Dictionary<string, Fp8GemmPlan> _fp8Gemm = new(StringComparer.Ordinal);

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
    /// scaling runs on Hopper (sm_90) only. NVFP4 (unpacked to bf16 before a bf16 GEMM) runs wherever bf16 GEMMs do.</summary>
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
        bool fast = Fp8FastAccumulation && scaling == Fp8Scaling.Tensor;
        string key = $"fp8m{m}n{n}k{k}s{(int)scaling}e{epilogue}{(fast ? "f" : "")}";
        if (_fp8Gemm.TryGetValue(key, out var p)) return p;
        if (DryRun) return _fp8Gemm[key] = new Fp8GemmPlan(key, null!, 0);
        var d = new Fp8GemmDesc { StructSize = (uint)sizeof(Fp8GemmDesc), M = m, N = n, K = k, Scaling = (int)scaling, Epilogue = epilogue, FastAccumulation = fast ? 1 : 0 };
        int status = vg_fp8_gemm_plan_create(Context.Ptr, &d, out var h);
        // measured on an H200 with cuBLASLt 13.1: the block-scaled descriptor (1x128 activation groups, 128x128 weight
        // blocks) gets CUBLAS_STATUS_INVALID_VALUE from the heuristic, so FP8_BLOCK_SCALES cannot run here yet
        if (status != 0 && scaling != Fp8Scaling.Tensor)
            throw new EngineException($"FP8_BLOCK_SCALES on the native CUDA engine: cuBLASLt has no block-scaled FP8 GEMM for [{m}, {k}] x [{k}, {n}] on {Name} " +
                $"({Marshal.PtrToStringUTF8(vg_last_error())}); run this checkpoint with --engine ort-cpu, or quantize it with FP8 (per tensor) or NVFP4");
        Check(status, $"FP8 GEMM plan {key}");
        var handle = new Fp8GemmPlanHandle(h);
        Check(vg_fp8_gemm_plan_workspace_size(h, out var ws), "vg_fp8_gemm_plan_workspace_size");
        return _fp8Gemm[key] = new Fp8GemmPlan(key, handle, (long)ws);
    }

    void DisposeFp8Plans()
    {
        foreach (var p in _fp8Gemm.Values) p.Handle?.Dispose();
        _fp8Gemm.Clear();
    }
}
