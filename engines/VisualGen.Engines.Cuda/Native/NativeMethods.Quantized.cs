using System.Runtime.InteropServices;

namespace VisualGen.Engines.Cuda.Native;

/// <summary>The quantized-linear functions of libvisualgen_native.so (visualgen_native.h, "Quantized linears"):
/// FP8 activation quantization (per tensor, per row, per 1x128 group), the cuBLASLt FP8 GEMM, the NVFP4 unpack, and the FP4
/// tensor-core path (Blackwell): NVFP4 activation quantization, tiled block scales, the cuBLASLt NVFP4 GEMM.</summary>
internal static unsafe partial class NativeMethods
{
    /// <summary>Floats of a per-tensor activation scale (VG_FP8_TENSOR_SCALE_FLOATS); slot 0 is the dequantization scale.</summary>
    public const int Fp8TensorScaleFloats = 4;

    /// <summary>vg_fp8_scaling.</summary>
    public enum Fp8Scaling { Tensor = 0, Block128 = 1, Rows = 2 }

    [StructLayout(LayoutKind.Sequential)]
    public struct Fp8GemmDesc
    {
        public uint StructSize;
        public long M, N, K;
        public int Scaling;
        public int Epilogue;
        public int FastAccumulation;
    }

    [DllImport(Library)] public static extern int vg_quantize_fp8_tensor(IntPtr x, int xDType, long count, IntPtr staticScale, IntPtr o,
        IntPtr scale, IntPtr stream);
    [DllImport(Library)] public static extern int vg_quantize_fp8_groups(IntPtr x, int xDType, long rows, long cols, long paddedRows,
        IntPtr o, IntPtr scales, IntPtr stream);
    [DllImport(Library)] public static extern int vg_quantize_fp8_rows(IntPtr x, int xDType, long rows, long cols, IntPtr o, IntPtr scales,
        IntPtr stream);
    [DllImport(Library)] public static extern int vg_quantize_fp8_rows_gelu(IntPtr x, int xDType, long rows, long cols, IntPtr o, IntPtr scales,
        IntPtr stream);
    [DllImport(Library)] public static extern int vg_fp8_weight_row_norms(IntPtr w, long n, long k, IntPtr norms, IntPtr stream);
    [DllImport(Library)] public static extern int vg_fp8_gelu_row_scales(IntPtr aScale, long m, long k, IntPtr wNorms, IntPtr wScale, IntPtr bias,
        long n, IntPtr outScale, IntPtr rowScale, IntPtr invHalf, IntPtr stream);
    [DllImport(Library)] public static extern int vg_fp8_gemm_gelu_rows_workspace_size(long m, long n, long k, out nuint bytes);
    [DllImport(Library)] public static extern int vg_fp8_gemm_gelu_rows(IntPtr a, IntPtr w, IntPtr bias, IntPtr rowScale, IntPtr invHalf,
        long m, long n, long k, IntPtr codes, IntPtr workspace, nuint workspaceBytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_create(IntPtr ctx, Fp8GemmDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_fp8_gemm_run(IntPtr plan, IntPtr a, IntPtr aScale, IntPtr w, IntPtr wScale, IntPtr bias,
        IntPtr o, IntPtr ws, nuint wsBytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_tune(IntPtr plan, IntPtr a, IntPtr aScale, IntPtr w, IntPtr wScale, IntPtr bias,
        IntPtr o, IntPtr ws, nuint wsBytes, int maxCandidates, int iterations, IntPtr stream, float* bestMs, int* tried);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_get_algo(IntPtr plan, byte* blob, nuint bytes);
    [DllImport(Library)] public static extern int vg_fp8_gemm_plan_set_algo(IntPtr plan, byte* blob, nuint bytes);
    [DllImport(Library)] public static extern int vg_dequantize_nvfp4(IntPtr packed, IntPtr blockScales, IntPtr scale2, long rows, long cols,
        IntPtr o, IntPtr stream);

    /// <summary>Floats of an NVFP4 activation scale (VG_NVFP4_SCALE_FLOATS); slot 0 is scale_2.</summary>
    public const int Nvfp4ScaleFloats = 4;

    [StructLayout(LayoutKind.Sequential)]
    public struct Nvfp4GemmDesc
    {
        public uint StructSize;
        public long M, N, K;
    }

    [DllImport(Library)] public static extern int vg_quantize_nvfp4(IntPtr x, int xDType, long rows, long cols, IntPtr packed, IntPtr tiledScales,
        IntPtr scale, IntPtr stream);
    [DllImport(Library)] public static extern int vg_swizzle_nvfp4_scales(IntPtr blockScales, long rows, long cols, IntPtr tiledScales, IntPtr stream);
    [DllImport(Library)] public static extern int vg_nvfp4_gemm_plan_create(IntPtr ctx, Nvfp4GemmDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_nvfp4_gemm_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_nvfp4_gemm_plan_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_nvfp4_gemm_run(IntPtr plan, IntPtr a, IntPtr aScales, IntPtr aScale2, IntPtr w, IntPtr wScales,
        IntPtr wScale2, IntPtr alphaBeta, IntPtr o, IntPtr ws, nuint wsBytes, IntPtr stream);
}

internal sealed class Nvfp4GemmPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => NativeMethods.vg_nvfp4_gemm_plan_destroy(handle) == 0;
}

internal sealed class Fp8GemmPlanHandle(IntPtr h) : NativeHandle(h)
{
    protected override bool ReleaseHandle() => NativeMethods.vg_fp8_gemm_plan_destroy(handle) == 0;
}
