using System.Reflection;
using System.Runtime.InteropServices;

namespace VisualGen.Engines.Cuda.Native;

/// <summary>P/Invoke declarations of libvisualgen_native.so (native/include/visualgen_native.h). The library is found
/// through <c>VISUALGEN_NATIVE_LIB</c> (a path), next to the application, or by the loader's search path.</summary>
internal static unsafe partial class NativeMethods
{
    public const string Library = "visualgen_native";
    public const int MaxRank = 8;

    static NativeMethods()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeMethods).Assembly, Resolve);
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library) return IntPtr.Zero;
        string? explicitPath = Environment.GetEnvironmentVariable("VISUALGEN_NATIVE_LIB");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            if (!File.Exists(explicitPath))
                throw new EngineException($"VISUALGEN_NATIVE_LIB points to '{explicitPath}', which does not exist");
            return Load(explicitPath);
        }
        string local = Path.Combine(AppContext.BaseDirectory, "libvisualgen_native.so");
        return Load(File.Exists(local) ? local : "libvisualgen_native.so");
    }

    /// <summary>Loads the library, or throws with the one line of the loader's answer that says why (not the list of
    /// every path .NET tried).</summary>
    static IntPtr Load(string path)
    {
        try { return NativeLibrary.Load(path); }
        catch (DllNotFoundException e) { throw new DllNotFoundException(LoadFailure(e.Message)); }
    }

    /// <summary>The reason in a loader message: its last line is the system loader's (dlerror), e.g.
    /// "libcudnn.so.9: cannot open shared object file: No such file or directory" for a missing dependency.</summary>
    internal static string LoadFailure(string loaderMessage)
    {
        string reason = loaderMessage.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? loaderMessage;
        if (reason.StartsWith("libvisualgen_native.so: cannot open shared object file", StringComparison.Ordinal))
            return "libvisualgen_native.so was not found: build it from native/ with CMake (README: Engines and the engine cache) and set " +
                   "VISUALGEN_NATIVE_LIB to its path, or put it next to the application";
        return $"libvisualgen_native.so could not be loaded: {reason}";
    }

    /// <summary>Whether the native library can be loaded (tests skip GPU cases otherwise).</summary>
    public static bool TryLoad(out string reason)
    {
        try
        {
            Versions v;
            int s = vg_get_versions(&v);
            reason = s == 0 ? "" : Marshal.PtrToStringUTF8(vg_last_error()) ?? "vg_get_versions failed";
            return s == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or EngineException or TypeInitializationException)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Throws an <see cref="EngineException"/> with the library's message when <paramref name="status"/> is not VG_OK.</summary>
    public static void Check(int status, string what)
    {
        if (status == 0) return;
        string msg = Marshal.PtrToStringUTF8(vg_last_error()) ?? "";
        throw new EngineException($"{what}: native status {status}: {msg}");
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Versions { public int Abi, CudaRuntime, CudaDriver; public long CublasLt, Cudnn; }

    [StructLayout(LayoutKind.Sequential)]
    public struct GemmDesc
    {
        public uint StructSize;
        public long M, N, K, Lda, Ldw, Ldc;
        public int ADType, WDType, OutDType, BiasDType, WLayout, Epilogue, HasC;
        public float Alpha, Beta;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct AttentionDesc
    {
        public uint StructSize;
        public int Kernel, QkvDType, OutDType;
        public long Batch, Heads, KvHeads, QLen, KvLen, HeadDim;
        public fixed long QStrides[4];
        public fixed long KStrides[4];
        public fixed long VStrides[4];
        public fixed long OutStrides[4];
        public float Scale;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct AttentionArgs
    {
        public uint StructSize;
        public IntPtr Q, K, V, Out, QScale, KScale, VScale, OutScale, Workspace;
        public nuint WorkspaceBytes;
    }

    /// <summary>vg_sage_attention_desc: Sage-style quantized attention (INT8 Q·Kᵀ, FP8 P·V), bf16 in and out.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct SageAttentionDesc
    {
        public uint StructSize;
        public long Batch, Heads, KvHeads, QLen, KvLen, HeadDim;
        public fixed long QStrides[4];
        public fixed long KStrides[4];
        public fixed long VStrides[4];
        public fixed long OutStrides[4];
        public float Scale;
        public int BlockQ, BlockK;
        /// <summary>vg_sage_kernel: 0 = auto (wgmma on Hopper for head_dim 128, else mma.sync).</summary>
        public int Kernel;
        /// <summary>Query / key tokens per INT8 scale (0 = 16 / 64).</summary>
        public int QScaleTokens, KScaleTokens;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SageAttentionArgs
    {
        public uint StructSize;
        public IntPtr Q, K, V, Out, Workspace;
        public nuint WorkspaceBytes;
    }

    /// <summary>vg_sage_phase: the whole run, only the pre-pass, only the main kernel, k's and v's pre-pass and the main
    /// kernel on Q's codes from vg_sage_quantize_q_norm_rope.</summary>
    public const int SagePhaseAll = 0, SagePhaseQuantize = 1, SagePhaseAttend = 2, SagePhaseKvAttend = 3;

    [StructLayout(LayoutKind.Sequential)]
    public struct RowVector { public IntPtr Ptr; public int DType; public long BatchStride, TokenStride; }

    [StructLayout(LayoutKind.Sequential)]
    public struct NdTensor { public IntPtr Ptr; public int DType; public fixed long Strides[MaxRank]; }

    [StructLayout(LayoutKind.Sequential)]
    public struct DeviceInfo { public uint StructSize; public int CcMajor, CcMinor, SmCount; public long TotalMemory; public fixed byte Name[256]; }

    [DllImport(Library)] public static extern IntPtr vg_last_error();
    [DllImport(Library)] public static extern int vg_get_versions(Versions* v);
    [DllImport(Library)] public static extern int vg_get_device_info(int device, DeviceInfo* info);
    [DllImport(Library)] public static extern int vg_context_create(int device, out IntPtr ctx);
    [DllImport(Library)] public static extern int vg_context_destroy(IntPtr ctx);

    [DllImport(Library)] public static extern int vg_gemm_plan_create(IntPtr ctx, GemmDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_gemm_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_gemm_plan_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_gemm_plan_tune(IntPtr plan, IntPtr a, IntPtr w, IntPtr bias, IntPtr c, IntPtr o,
        IntPtr ws, nuint wsBytes, int maxCandidates, int iterations, IntPtr stream, float* bestMs, int* tried);
    /// <summary>VG_GEMM_ALGO_BLOB_BYTES: the size of a serialized GEMM algorithm (bf16 and FP8 plans alike).</summary>
    public const int GemmAlgoBlobBytes = 96;
    [DllImport(Library)] public static extern int vg_gemm_plan_get_algo(IntPtr plan, byte* blob, nuint bytes);
    [DllImport(Library)] public static extern int vg_gemm_plan_set_algo(IntPtr plan, byte* blob, nuint bytes);
    [DllImport(Library)] public static extern int vg_gemm_run(IntPtr plan, IntPtr a, IntPtr w, IntPtr bias, IntPtr c, IntPtr o,
        IntPtr ws, nuint wsBytes, IntPtr stream);

    [DllImport(Library)] public static extern int vg_attention_plan_create(IntPtr ctx, AttentionDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_attention_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_attention_plan_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_attention_run(IntPtr plan, AttentionArgs* args, IntPtr stream);
    [DllImport(Library)] public static extern int vg_attention_plan_tune_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_attention_plan_tune(IntPtr plan, AttentionArgs* args, int iterations, IntPtr stream, float* bestMs, int* tried);
    [DllImport(Library)] public static extern int vg_attention_plan_describe(IntPtr plan, byte* buf, nuint bytes);

    [DllImport(Library)] public static extern int vg_sage_attention_plan_create(IntPtr ctx, SageAttentionDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_sage_attention_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_sage_attention_plan_workspace_size(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_sage_attention_plan_blocks(IntPtr plan, out int blockQ, out int blockK);
    [DllImport(Library)] public static extern int vg_sage_attention_run(IntPtr plan, SageAttentionArgs* args, int phase, IntPtr stream);
    [DllImport(Library)] public static extern int vg_sage_attention_plan_q_codes_bytes(IntPtr plan, out nuint bytes);
    [DllImport(Library)] public static extern int vg_sage_quantize_q_norm_rope(IntPtr plan, IntPtr x, long xStride, int applyNorm, float eps,
        IntPtr weight, int weightDType, IntPtr cos, IntPtr sin, long tableStride, IntPtr qCodes, nuint qCodesBytes, IntPtr stream);

    /// <summary>Floats in one FP8 scale block, and the block's slots (visualgen_native.h).</summary>
    public const int Fp8ScaleFloats = 8;
    public const int Fp8Quant = 4;  // VG_FP8_QUANT: the scale block's quantization factor
    [DllImport(Library)] public static extern int vg_quantize_fp8(IntPtr x, int xDType, long count, IntPtr o, IntPtr scaleBlock, IntPtr stream);
    [DllImport(Library)] public static extern int vg_dequantize_fp8(IntPtr x, IntPtr scaleBlock, long count, IntPtr o, int outDType, IntPtr stream);

    [DllImport(Library)] public static extern int vg_norm_modulate(int kind, IntPtr x, int xDType, long xStride, IntPtr o, int outDType, long outStride,
        long rows, long tokens, long channels, float eps, IntPtr weight, IntPtr bias, int paramDType, RowVector* scale, RowVector* shift, IntPtr stream);
    [DllImport(Library)] public static extern int vg_norm_modulate_fp8_rows(int kind, IntPtr x, int xDType, long xStride, IntPtr codes, IntPtr rowScales,
        long rows, long tokens, long channels, float eps, IntPtr weight, IntPtr bias, int paramDType, RowVector* scale, RowVector* shift, IntPtr stream);
    [DllImport(Library)] public static extern int vg_norm_modulate_fp8_scaled(int kind, IntPtr x, int xDType, long xStride, IntPtr codes, IntPtr quantFactor,
        long rows, long tokens, long channels, float eps, IntPtr weight, IntPtr bias, int paramDType, RowVector* scale, RowVector* shift, IntPtr stream);
    [DllImport(Library)] public static extern int vg_rmsnorm_rope(IntPtr x, long xStride, IntPtr o, long outStride, long rows, long tokens, long heads, long headDim,
        int applyNorm, float eps, IntPtr weight, int weightDType, IntPtr cos, IntPtr sin, long tableStride, IntPtr stream);
    [DllImport(Library)] public static extern int vg_gated_residual(IntPtr x, int xDType, IntPtr y, int yDType, RowVector* gate, IntPtr o,
        long rows, long tokens, long channels, IntPtr stream);
    [DllImport(Library)] public static extern int vg_residual_norm(int kind, IntPtr x, int xDType, IntPtr y, int yDType, RowVector* gate, IntPtr sum,
        IntPtr o, int outDType, IntPtr rowScales, long rows, long tokens, long channels, float eps, IntPtr weight, IntPtr bias, int paramDType,
        RowVector* scale, RowVector* shift, IntPtr stream);
    [DllImport(Library)] public static extern int vg_nd(int op, int rank, long* sizes, NdTensor* o, NdTensor* a, NdTensor* b, IntPtr stream);
    [DllImport(Library)] public static extern int vg_rope_rotate_half(int rank, long* sizes, int axis, long first, NdTensor* o, NdTensor* x, NdTensor* cos, NdTensor* sin, IntPtr stream);

    [StructLayout(LayoutKind.Sequential)]
    public struct ConvDesc
    {
        public uint StructSize;
        public int DType, SpatialDims;
        public long Batch, InChannels, OutChannels;
        public fixed long InSize[3];
        public fixed long Kernel[3];
        public fixed long Stride[3];
        public fixed long Pad[3];
        public fixed long Dilation[3];
        public nuint MaxWorkspace;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BgemmDesc
    {
        public uint StructSize;
        public long Batch, M, N, K;
        public int TransB;
        public long Lda, Ldb, Ldc, StrideA, StrideB, StrideC;
        public int InDType, OutDType;
        public float Alpha;
    }

    [DllImport(Library)] public static extern int vg_conv_plan_create(IntPtr ctx, ConvDesc* desc, out IntPtr plan);
    [DllImport(Library)] public static extern int vg_conv_plan_destroy(IntPtr plan);
    [DllImport(Library)] public static extern int vg_conv_plan_info(IntPtr plan, out nuint workspaceBytes, long* outSize);
    [DllImport(Library)] public static extern int vg_conv_run(IntPtr plan, IntPtr x, IntPtr w, IntPtr bias, int biasDType, IntPtr y, IntPtr ws, nuint wsBytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_bgemm(IntPtr ctx, BgemmDesc* desc, IntPtr a, IntPtr b, IntPtr o, IntPtr ws, nuint wsBytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_softmax_rows(IntPtr x, int xDType, IntPtr o, int outDType, long* rowDims, long n, float scale,
        IntPtr bias, int biasDType, long* biasStrides, IntPtr stream);
    [DllImport(Library)] public static extern int vg_gather_rows(IntPtr table, int tableDType, long rows, long width, IntPtr indices, long count, IntPtr o, int outDType, IntPtr stream);
    [DllImport(Library)] public static extern int vg_channel_l2norm(IntPtr x, IntPtr o, int dtype, long batch, long channels, long inner, float eps, IntPtr weight, IntPtr stream);
    [DllImport(Library)] public static extern int vg_group_norm(IntPtr x, int xDType, IntPtr o, int outDType, long batch, long channels, long inner, long groups,
        float eps, IntPtr weight, IntPtr bias, int silu, IntPtr workspace, nuint workspaceBytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_group_norm_workspace_size(long batch, long channels, long inner, long groups, out nuint bytes);
    [DllImport(Library)] public static extern int vg_argmax(IntPtr x, int xDType, long outer, long n, long inner, int selectLast, IntPtr o, IntPtr stream);

    [DllImport(Library)] public static extern int vg_combine(IntPtr o, long count, int terms, double* coefs, IntPtr* srcs, IntPtr stream);
    [DllImport(Library)] public static extern int vg_rescale_row_norms(IntPtr o, IntPtr src, IntPtr reference, long rows, long rowLength, IntPtr stream);
    [DllImport(Library)] public static extern int vg_l1_distance(IntPtr a, IntPtr b, long n, IntPtr sums, IntPtr stream);

    [DllImport(Library)] public static extern int vg_malloc(nuint bytes, out IntPtr ptr);
    [DllImport(Library)] public static extern int vg_free(IntPtr ptr);
    [DllImport(Library)] public static extern int vg_memcpy_async(IntPtr dst, IntPtr src, nuint bytes, int kind, IntPtr stream);
    [DllImport(Library)] public static extern int vg_memset_async(IntPtr dst, int value, nuint bytes, IntPtr stream);
    [DllImport(Library)] public static extern int vg_stream_create(out IntPtr stream);
    [DllImport(Library)] public static extern int vg_stream_destroy(IntPtr stream);
    [DllImport(Library)] public static extern int vg_stream_synchronize(IntPtr stream);
    [DllImport(Library)] public static extern int vg_graph_capture_begin(IntPtr stream);
    [DllImport(Library)] public static extern int vg_graph_capture_end(IntPtr stream, out IntPtr graph);
    [DllImport(Library)] public static extern int vg_graph_launch(IntPtr graph, IntPtr stream);
    [DllImport(Library)] public static extern int vg_graph_destroy(IntPtr graph);
    [DllImport(Library)] public static extern int vg_event_create(out IntPtr ev);
    [DllImport(Library)] public static extern int vg_event_destroy(IntPtr ev);
    [DllImport(Library)] public static extern int vg_event_record(IntPtr ev, IntPtr stream);
    [DllImport(Library)] public static extern int vg_event_elapsed_ms(IntPtr start, IntPtr end, out float ms);
}

/// <summary>vg_dtype values.</summary>
internal enum VgDType { F32 = 0, BF16 = 1, FP8E4M3 = 3, I64 = 5 }
