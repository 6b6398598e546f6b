/*
 * visualgen_native.h — the flat C ABI of libvisualgen_native.so.
 *
 * This header is the contract between the native CUDA library and the C# engine
 * (engines/VisualGen.Engines.Cuda, through P/Invoke). Rules that hold for every function:
 *
 *  - Plain C: opaque handles, fixed-width integers, no C++ types, no exceptions across the boundary.
 *  - Every function returns a vg_status. On anything but VG_OK, vg_last_error() returns a message
 *    (thread-local, valid until the next vg_* call on the same thread) that names the function, the
 *    argument and the problem.
 *  - Every device function takes the CUDA stream as `void* stream` (a cudaStream_t; NULL = legacy
 *    default stream). Work is only enqueued: nothing synchronizes the host, except where a function
 *    says so (plan creation and tuning). Kernel launches are checked with cudaGetLastError().
 *  - Tensors are device pointers; shapes and strides are counted in elements (not bytes).
 *    "Row-major [R, C]" means element (r, c) lives at ptr[r * row_stride + c].
 *  - Launch functions allocate nothing and never synchronize, so they are safe inside CUDA-graph
 *    capture. Scratch memory (GEMM and attention workspaces) is passed in by the caller, whose memory
 *    planner owns it; each plan reports how much it needs.
 *  - Descriptor structs begin with `struct_size` (set it to sizeof(the struct)); new fields are
 *    only ever appended, and the library rejects sizes it does not know.
 *  - Enum values are stable: new values are appended, none is renumbered.
 *
 * Numerics: bf16 storage, fp32 arithmetic everywhere (accumulators, norms, softmax).
 */
#ifndef VISUALGEN_NATIVE_H
#define VISUALGEN_NATIVE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define VG_API __declspec(dllexport)
#else
#define VG_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a signature or a struct layout changes incompatibly. */
#define VG_ABI_VERSION 3

/* ------------------------------------------------------------------------------------------------
 * Status, errors, versions
 * ---------------------------------------------------------------------------------------------- */

typedef enum vg_status {
    VG_OK = 0,
    VG_ERROR_INVALID_ARGUMENT = 1, /* a shape, stride, pointer, alignment or enum value is wrong */
    VG_ERROR_NOT_SUPPORTED = 2,    /* valid request that this build/device/library cannot run */
    VG_ERROR_CUDA = 3,             /* a CUDA runtime call or kernel launch failed */
    VG_ERROR_CUBLAS = 4,           /* a cuBLASLt call failed */
    VG_ERROR_CUDNN = 5,            /* a cuDNN (frontend or backend) call failed */
    VG_ERROR_OUT_OF_MEMORY = 6,    /* a host allocation failed */
    VG_ERROR_INTERNAL = 7          /* a bug in this library */
} vg_status;

/* The message of the last failed call on this thread ("" if none). Never NULL. */
VG_API const char* vg_last_error(void);

/* Versions, for the engine-cache key. Any pointer may be NULL. Values are run-time versions of the
 * loaded libraries (cudaRuntimeGetVersion, cublasLtGetVersion, cudnnGetVersion). */
typedef struct vg_versions {
    int32_t abi;          /* VG_ABI_VERSION of the loaded library */
    int32_t cuda_runtime; /* e.g. 13000 */
    int32_t cuda_driver;  /* e.g. 13000 */
    int64_t cublaslt;     /* e.g. 130100 */
    int64_t cudnn;        /* e.g. 91400 */
} vg_versions;
VG_API vg_status vg_get_versions(vg_versions* out);

/* ------------------------------------------------------------------------------------------------
 * Types
 * ---------------------------------------------------------------------------------------------- */

typedef enum vg_dtype {
    VG_DTYPE_FP32 = 0,
    VG_DTYPE_BF16 = 1,
    VG_DTYPE_FP16 = 2,
    VG_DTYPE_FP8_E4M3 = 3, /* FP8 attention (VG_ATTENTION_CUDNN_FP8) and vg_quantize_fp8 */
    VG_DTYPE_FP8_E5M2 = 4, /* reserved for quantized GEMMs; no function accepts it yet */
    VG_DTYPE_INT64 = 5     /* token ids and masks: vg_gather_rows indices, vg_nd's `a` operand (read as float) */
} vg_dtype;

/* ------------------------------------------------------------------------------------------------
 * Context: one per device. Holds the cuBLASLt and cuDNN handles. Not thread-safe: use one context
 * per host thread that enqueues work (handles are cheap), or serialize calls.
 * ---------------------------------------------------------------------------------------------- */

typedef struct vg_context_t* vg_context;

/* Creates a context on `device` (cudaSetDevice is called on the calling thread). */
VG_API vg_status vg_context_create(int32_t device, vg_context* out);
VG_API vg_status vg_context_destroy(vg_context ctx); /* NULL is accepted and ignored */

/* ------------------------------------------------------------------------------------------------
 * GEMM (cuBLASLt): out[M, N] = alpha * (a[M, K] · op(w)) + beta * c[M, N] (+ bias[N]) (-> GELU)
 *
 * Row-major throughout. `a` is the activation [M, K] (row stride lda >= K).
 * The weight layout is chosen per plan:
 *   VG_WEIGHT_NK: w is [N, K] row-major (ldw >= K) and out = a · wᵀ — the PyTorch nn.Linear layout,
 *                 and ONNX MatMul(a, B[K, N]) with B pre-transposed at engine build. Preferred: it is
 *                 cuBLASLt's "TN" case, the fastest on Hopper.
 *   VG_WEIGHT_KN: w is [K, N] row-major (ldw >= N) and out = a · w — ONNX MatMul's B as stored.
 * Epilogues apply per output column n (bias has N elements, dtype `bias_dtype`); GELU is the tanh
 * approximation (PyTorch gelu(approximate="tanh")), applied after bias.
 * A batch of activations [B, S, K] is one GEMM with M = B*S.
 * ---------------------------------------------------------------------------------------------- */

typedef enum vg_weight_layout {
    VG_WEIGHT_NK = 0,
    VG_WEIGHT_KN = 1
} vg_weight_layout;

typedef enum vg_epilogue {
    VG_EPILOGUE_NONE = 0,
    VG_EPILOGUE_BIAS = 1,
    VG_EPILOGUE_GELU_TANH = 2,
    VG_EPILOGUE_BIAS_GELU_TANH = 3
} vg_epilogue;

typedef struct vg_gemm_desc {
    uint32_t struct_size;          /* sizeof(vg_gemm_desc) */
    int64_t m, n, k;
    int64_t lda;                   /* row stride of a; 0 = K */
    int64_t ldw;                   /* row stride of w; 0 = K (NK) or N (KN) */
    int64_t ldc;                   /* row stride of c and out; 0 = N */
    vg_dtype a_dtype;              /* VG_DTYPE_BF16 */
    vg_dtype w_dtype;              /* VG_DTYPE_BF16 */
    vg_dtype out_dtype;            /* VG_DTYPE_BF16 or VG_DTYPE_FP32; c has the same dtype */
    vg_dtype bias_dtype;           /* with a bias epilogue: out_dtype's type (bf16 or fp32) */
    vg_weight_layout w_layout;
    vg_epilogue epilogue;
    int32_t has_c;                 /* 1: add beta * c (c may alias out, e.g. a residual) */
    float alpha;                   /* usually 1 */
    float beta;                    /* used only when has_c */
} vg_gemm_desc;

typedef struct vg_gemm_plan_t* vg_gemm_plan;

/* Size of the opaque algorithm blob that vg_gemm_plan_get_algo writes. */
#define VG_GEMM_ALGO_BLOB_BYTES 96

/* Validates the descriptor and picks cuBLASLt's heuristic first choice (no timing). */
VG_API vg_status vg_gemm_plan_create(vg_context ctx, const vg_gemm_desc* desc, vg_gemm_plan* out);
VG_API vg_status vg_gemm_plan_destroy(vg_gemm_plan plan);

/* Workspace bytes the plan's current algorithm needs (pass at least this much to vg_gemm_run). */
VG_API vg_status vg_gemm_plan_workspace_size(vg_gemm_plan plan, size_t* bytes);

/* Times up to `max_candidates` heuristic algorithms (each `iterations` launches after one warm-up,
 * median by CUDA events on `stream`) on the given buffers and keeps the fastest in the plan.
 * Synchronizes `stream`. `out` is overwritten. workspace_bytes bounds the candidates considered.
 * best_ms (may be NULL) receives the chosen algorithm's time; tried (may be NULL) the number timed. */
VG_API vg_status vg_gemm_plan_tune(vg_gemm_plan plan, const void* a, const void* w, const void* bias,
                                   const void* c, void* out, void* workspace, size_t workspace_bytes,
                                   int32_t max_candidates, int32_t iterations, void* stream,
                                   float* best_ms, int32_t* tried);

/* Serializes the chosen algorithm into blob[VG_GEMM_ALGO_BLOB_BYTES] for the engine cache. The
 * blob records the cuBLASLt version; set_algo rejects blobs from another version or an algorithm
 * that cuBLASLt says does not fit the descriptor (VG_ERROR_NOT_SUPPORTED, re-tune then). */
VG_API vg_status vg_gemm_plan_get_algo(vg_gemm_plan plan, void* blob, size_t blob_bytes);
VG_API vg_status vg_gemm_plan_set_algo(vg_gemm_plan plan, const void* blob, size_t blob_bytes);

/* Enqueues the GEMM. bias: required iff the epilogue has a bias, else NULL. c: required iff has_c. */
VG_API vg_status vg_gemm_run(vg_gemm_plan plan, const void* a, const void* w, const void* bias,
                             const void* c, void* out, void* workspace, size_t workspace_bytes,
                             void* stream);

/* ------------------------------------------------------------------------------------------------
 * Attention: out = softmax(scale · q·kᵀ) · v per (batch, head); no N×N buffer, no mask (DiT
 * attention is full, bidirectional). fp32 softmax and accumulation.
 *
 * Shapes: q [B, Sq, H, D], k and v [B, Skv, Hkv, D], out [B, Sq, H, D] in the logical order
 * (batch, sequence, head, dim); H must be a multiple of Hkv (grouped-query when Hkv < H). Each tensor
 * has its own strides (elements) for that order, the dim stride must be 1, so both the natural
 * projection output [B, S, H, D] (strides {S*H*D, H*D, D, 1}) and [B, H, S, D]
 * (strides {H*S*D, D, S*D, 1}) work without copies. All strides 0 = contiguous [B, S, H, D].
 *
 * Kernel variants: VG_ATTENTION_AUTO picks the implemented kernel for the dtypes: cuDNN's fused
 * flash attention for bf16/fp16, cuDNN's FP8 flash attention for FP8 E4M3 q/k/v. The FP8 kernel
 * takes per-tensor scale blocks (see vg_quantize_fp8) in vg_attention_args: q_scale, k_scale and
 * v_scale dequantize the inputs; out is written as FP8 with out_scale's quantize factor
 * (dequantize it with vg_dequantize_fp8 and the same block). Since every output row is a convex
 * combination of v rows, |out| <= max|v|: v's own block is a valid out_scale. P (the softmax
 * probabilities, in [0, 1]) is quantized with the fixed factor 448. Scale pointers must be NULL for
 * the bf16/fp16 kernel. Sage-style per-block scales are their own plan (vg_sage_attention_*, below).
 * ---------------------------------------------------------------------------------------------- */

typedef enum vg_attention_kernel {
    VG_ATTENTION_AUTO = 0,
    VG_ATTENTION_CUDNN = 1,    /* cuDNN fused SDPA (flash), bf16/fp16, head_dim % 8 == 0, <= 256 */
    VG_ATTENTION_CUDNN_FP8 = 2 /* cuDNN FP8 SDPA (Hopper+), q/k/v/out FP8 E4M3, head_dim % 16 == 0, <= 128 */
} vg_attention_kernel;

typedef struct vg_attention_desc {
    uint32_t struct_size;   /* sizeof(vg_attention_desc) */
    vg_attention_kernel kernel;
    vg_dtype qkv_dtype;     /* VG_DTYPE_BF16 (or FP16), or VG_DTYPE_FP8_E4M3 */
    vg_dtype out_dtype;     /* same as qkv_dtype */
    int64_t batch, heads, kv_heads, q_len, kv_len, head_dim; /* kv_heads 0 = heads */
    int64_t q_strides[4];   /* (b, s, h, d) element strides; all 0 = contiguous [B, S, H, D] */
    int64_t k_strides[4];
    int64_t v_strides[4];
    int64_t out_strides[4];
    float scale;            /* softmax scale; 0 = 1/sqrt(head_dim) */
} vg_attention_desc;

typedef struct vg_attention_args {
    uint32_t struct_size;   /* sizeof(vg_attention_args) */
    const void* q;
    const void* k;
    const void* v;
    void* out;
    /* FP8 kernel only: scale blocks (VG_FP8_SCALE_FLOATS device floats each, see vg_quantize_fp8);
     * must be NULL for bf16/fp16 kernels. */
    const float* q_scale;
    const float* k_scale;
    const float* v_scale;
    const float* out_scale;
    void* workspace;
    size_t workspace_bytes;
} vg_attention_args;

typedef struct vg_attention_plan_t* vg_attention_plan;

/* Builds the kernel for one shape (cuDNN: builds and compiles its candidate execution plans — the first
 * few engine configurations of its unified and of its composite SDPA implementation; tens of
 * milliseconds to a few seconds, synchronous) and selects cuDNN's own first choice until
 * vg_attention_plan_tune times them. Fails with VG_ERROR_NOT_SUPPORTED when no kernel can run it. */
VG_API vg_status vg_attention_plan_create(vg_context ctx, const vg_attention_desc* desc,
                                          vg_attention_plan* out);
VG_API vg_status vg_attention_plan_destroy(vg_attention_plan plan);
VG_API vg_status vg_attention_plan_workspace_size(vg_attention_plan plan, size_t* bytes);
/* Which kernel the plan runs (resolves VG_ATTENTION_AUTO). */
VG_API vg_status vg_attention_plan_kernel(vg_attention_plan plan, vg_attention_kernel* kernel);
VG_API vg_status vg_attention_run(vg_attention_plan plan, const vg_attention_args* args, void* stream);
/* The largest workspace any candidate of the plan needs: pass this much to vg_attention_plan_tune so
 * that every candidate can be timed (vg_attention_plan_workspace_size is the chosen one's need). */
VG_API vg_status vg_attention_plan_tune_workspace_size(vg_attention_plan plan, size_t* bytes);
/* Times every candidate (one warm-up, then `iterations` launches, median by CUDA events on `stream`;
 * a candidate whose warm-up is over 3x the best so far is not iterated) on args' buffers and keeps the
 * fastest. Candidates needing more than args->workspace_bytes, or that fail to launch, are skipped.
 * Synchronizes `stream`; args->out is overwritten. best_ms / tried (may be NULL) receive the chosen
 * candidate's time and the number timed. Afterwards vg_attention_plan_workspace_size reports the
 * chosen candidate's need. */
VG_API vg_status vg_attention_plan_tune(vg_attention_plan plan, const vg_attention_args* args,
                                        int32_t iterations, void* stream, float* best_ms, int32_t* tried);
/* One line for logs: the chosen candidate, then every candidate with its time (once tuned) and its
 * workspace bytes. Writes at most `bytes` bytes including the NUL (truncates). */
VG_API vg_status vg_attention_plan_describe(vg_attention_plan plan, char* buf, size_t bytes);

/* ------------------------------------------------------------------------------------------------
 * Sage-style quantized attention (SageAttention2's algorithm, our own kernel; Hopper, sm_90):
 * out = softmax(scale · q·kᵀ) · v with INT8 Q·Kᵀ and FP8 P·V on mma.sync tensor cores, fp32 softmax.
 * q, k, v and out are bf16 in the same logical (b, s, h, d) order and strides as vg_attention_desc
 * (all strides 0 = contiguous [B, S, H, D]; dim stride 1; b/s/h strides multiples of 8 elements),
 * GQA when kv_heads < heads, q_len may differ from kv_len. head_dim 64 or 128 only.
 *
 * A run is two phases on `stream`, both capture-safe (no allocation, no host sync):
 *  1. quantize (five small kernels): K is smoothed (the per-(batch, kv head) mean of K over the sequence
 *     is subtracted: q·(k − mean) differs from q·k by a constant per query row, which softmax ignores);
 *     Q to INT8 per q_scale_tokens (16) tokens per head (symmetric, scale max|x|/127, round to nearest; the
 *     softmax scale and log2(e) are folded into Q's scale), smoothed K to INT8 per k_scale_tokens (64)
 *     tokens per kv head (SageAttention's per-block granularity, configurable), V to FP8 E4M3
 *     per channel (one scale max|v[:, d]|/448 per (batch, kv head, head_dim column) over the sequence),
 *     stored transposed [d][key] for the P·V product;
 *  2. attend: per CTA block_q queries of one (batch, head), a loop over key blocks of block_k:
 *     S = Q_i8·K_i8ᵀ (int32, exact), dequantized per (16 queries × 64 keys) tile, online softmax (exp2,
 *     fp32), P quantized to E4M3 with the fixed factor 448 (P is in [0, 1]), O += P_fp8·V_fp8 with fp32
 *     accumulation (each key block's product summed into the running output in fp32 by the SM's
 *     FMA units, not inside the tensor core), out = O / l · v_scale as bf16.
 * Two main kernels (`kernel`): VG_SAGE_KERNEL_MMA, warp-level mma.sync (any compute capability >= 9.0,
 * head_dim 64 or 128, block_q and block_k 64 or 128 each; 0 = 64), and VG_SAGE_KERNEL_WGMMA, Hopper's
 * warpgroup MMA fed by TMA copies (compute capability 9.0 exactly, head_dim 128, block_q 128, block_k 192
 * or 128; 0 takes 192 unless kv_len is short enough that padding its last 192-key block costs more: 512 keys
 * take 128); it keeps
 * O in the tensor core across key blocks, as cuDNN's FP8 attention does). VG_SAGE_KERNEL_AUTO (0) takes
 * WGMMA where it can run the shape and MMA elsewhere; the plan records the kernel and blocks it runs.
 * The workspace (vg_sage_attention_plan_workspace_size) holds the quantized q/k/v and their scales.
 * Deterministic: the same inputs give the same bytes (no atomics).
 * ---------------------------------------------------------------------------------------------- */

typedef struct vg_sage_attention_desc {
    uint32_t struct_size;   /* sizeof(vg_sage_attention_desc) */
    int64_t batch, heads, kv_heads, q_len, kv_len, head_dim; /* kv_heads 0 = heads */
    int64_t q_strides[4];   /* (b, s, h, d) element strides; all 0 = contiguous [B, S, H, D] */
    int64_t k_strides[4];
    int64_t v_strides[4];
    int64_t out_strides[4];
    float scale;            /* softmax scale; 0 = 1/sqrt(head_dim) */
    int32_t block_q;        /* queries per CTA (16 per warp): 64 or 128; 0 = 64 */
    int32_t block_k;        /* keys per main-loop step: 64 or 128 (MMA), 128 or 192 (WGMMA); 0 = 64 (MMA) / 192 or 128 by kv_len (WGMMA) */
    int32_t kernel;         /* vg_sage_kernel; 0 = auto */
    int32_t q_scale_tokens; /* query tokens per Q scale (per head): 16, 32, 64 or 128; 0 = 16 */
    int32_t k_scale_tokens; /* key tokens per K scale (per kv head): 64 or 128; 0 = 64 */
} vg_sage_attention_desc;

typedef enum vg_sage_kernel {
    VG_SAGE_KERNEL_AUTO = 0,  /* WGMMA where the device and shape allow it, else MMA */
    VG_SAGE_KERNEL_MMA = 1,   /* mma.sync, sm_90 and newer */
    VG_SAGE_KERNEL_WGMMA = 2  /* wgmma + TMA, sm_90a (Hopper) only */
} vg_sage_kernel;

typedef struct vg_sage_attention_args {
    uint32_t struct_size;   /* sizeof(vg_sage_attention_args) */
    const void* q;          /* bf16; needed by VG_SAGE_PHASE_ALL and VG_SAGE_PHASE_QUANTIZE */
    const void* k;
    const void* v;
    void* out;              /* bf16; needed by VG_SAGE_PHASE_ALL and VG_SAGE_PHASE_ATTEND */
    void* workspace;        /* 16-byte aligned, at least vg_sage_attention_plan_workspace_size bytes */
    size_t workspace_bytes;
} vg_sage_attention_args;

typedef enum vg_sage_phase {
    VG_SAGE_PHASE_ALL = 0,      /* quantize, then attend: what the engine runs */
    VG_SAGE_PHASE_QUANTIZE = 1, /* only the pre-pass (writes the workspace) */
    VG_SAGE_PHASE_ATTEND = 2,   /* only the main kernel (reads the workspace of an earlier quantize) */
    VG_SAGE_PHASE_KV_ATTEND = 3 /* k's and v's pre-pass, then the main kernel, with args->q holding Q's codes as
                                   vg_sage_quantize_q_norm_rope wrote them (the plan's q_scale_tokens must be 16) */
} vg_sage_phase;

typedef struct vg_sage_attention_plan_t* vg_sage_attention_plan;

/* Validates the shape (VG_ERROR_NOT_SUPPORTED for head_dim other than 64/128 or a device below
 * compute capability 9.0) and sets the kernels' shared-memory limits. Synchronous, allocates nothing
 * on the device. */
VG_API vg_status vg_sage_attention_plan_create(vg_context ctx, const vg_sage_attention_desc* desc,
                                               vg_sage_attention_plan* out);
VG_API vg_status vg_sage_attention_plan_destroy(vg_sage_attention_plan plan); /* NULL is accepted */
VG_API vg_status vg_sage_attention_plan_workspace_size(vg_sage_attention_plan plan, size_t* bytes);
/* The block sizes the plan runs (block_q, block_k; either pointer may be NULL). */
VG_API vg_status vg_sage_attention_plan_blocks(vg_sage_attention_plan plan, int32_t* block_q, int32_t* block_k);
/* The main kernel the plan runs (VG_SAGE_KERNEL_MMA or VG_SAGE_KERNEL_WGMMA). */
VG_API vg_status vg_sage_attention_plan_kernel(vg_sage_attention_plan plan, int32_t* kernel);
VG_API vg_status vg_sage_attention_run(vg_sage_attention_plan plan, const vg_sage_attention_args* args,
                                       vg_sage_phase phase, void* stream);

/* Q's part of the pre-pass fused with what comes before it in Wan-style attention: the RMSNorm of q's projection across
 * all heads (apply_norm; optional weight) and the interleaved-pair rotary embedding (cos/sin [q_len, head_dim/2]
 * fp32, row stride table_stride, 0 = head_dim/2; NULL: none), each value rounded to bf16 as vg_rmsnorm_rope stores
 * it. Reads the projection x, bf16 rows of heads·head_dim channels (row stride x_stride, 0 = contiguous) for
 * batch·q_len tokens, and writes Q's INT8 codes and scales (one per 16 tokens of a head) into q_codes
 * (vg_sage_attention_plan_q_codes_bytes bytes, 16-byte aligned) as the pre-pass would write them from vg_rmsnorm_rope's
 * output; VG_SAGE_PHASE_KV_ATTEND takes them as args->q. One pass over x where vg_rmsnorm_rope and the pre-pass take
 * two over its size plus one over the INT8 codes. The plan's q_scale_tokens must be 16 and heads·head_dim at most
 * 6144. */
VG_API vg_status vg_sage_attention_plan_q_codes_bytes(vg_sage_attention_plan plan, size_t* bytes);
VG_API vg_status vg_sage_quantize_q_norm_rope(vg_sage_attention_plan plan, const void* x, int64_t x_stride,
                                              int32_t apply_norm, float eps, const void* weight, vg_dtype weight_dtype,
                                              const float* cos, const float* sin, int64_t table_stride, void* q_codes,
                                              size_t q_codes_bytes, void* stream);

/* ------------------------------------------------------------------------------------------------
 * FP8 (E4M3) quantization with one scale per tensor, computed on the device (no host sync, so it
 * runs inside CUDA graphs). A scale block is VG_FP8_SCALE_FLOATS floats of device memory, 16-byte
 * aligned: [VG_FP8_DEQUANT] real = stored * this; [VG_FP8_AMAX] max|x| (scratch);
 * [VG_FP8_QUANT] stored = real * this = 448 / max|x| (1 when x is all zeros). Each factor sits
 * 16-byte aligned so it can be bound as its own cuDNN tensor.
 * ---------------------------------------------------------------------------------------------- */

#define VG_FP8_SCALE_FLOATS 8
#define VG_FP8_DEQUANT 0
#define VG_FP8_AMAX 2
#define VG_FP8_QUANT 4

/* out[i] = fp8_e4m3(x[i] * 448 / max|x|) (saturating), and writes the scale block. x: bf16 or fp32;
 * count % 8 == 0; x and out 16-byte aligned. Three launches on `stream` (reset, amax, quantize). */
VG_API vg_status vg_quantize_fp8(const void* x, vg_dtype x_dtype, int64_t count, void* out, float* scale_block,
                                 void* stream);
/* out[i] = x[i] * scale_block[VG_FP8_DEQUANT]; x FP8 E4M3, out bf16 or fp32; count % 8 == 0. */
VG_API vg_status vg_dequantize_fp8(const void* x, const float* scale_block, int64_t count, void* out,
                                   vg_dtype out_dtype, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Quantized linears (the exporter's FP8 / FP8_BLOCK_SCALES / NVFP4 weights, ModelOpt's layouts), by the rules
 * of the quantization fixtures (conformance/quant_ops/golden.json). Launch functions only enqueue: scales stay
 * on the device, so every step runs inside CUDA graphs.
 *
 * Activations to FP8 E4M3, one scale per tensor: `scale` is VG_FP8_TENSOR_SCALE_FLOATS device floats, 16-byte
 * aligned; [VG_FP8_TENSOR_DEQUANT] receives s (real = stored * s), [VG_FP8_TENSOR_AMAX] is scratch.
 *   static_scale != NULL (a checkpoint's input_scale, one device float): s = *static_scale and
 *     out = e4m3_satfinite_rne(x / s), what ONNX QuantizeLinear(x, s, float8e4m3fn zero) computes;
 *   static_scale == NULL: s = bf16(max(max|x| / 448, 1 / (448 * 512))) (the fixture's per-tensor rule for a bf16
 *     tensor) and out = e4m3_satfinite_rne(x * (1 / s)), with max|x| computed on the device.
 * x bf16 or fp32, count % 8 == 0, x and out 16-byte aligned. Two or three launches on `stream`.
 * ---------------------------------------------------------------------------------------------- */

#define VG_FP8_TENSOR_SCALE_FLOATS 4
#define VG_FP8_TENSOR_DEQUANT 0
#define VG_FP8_TENSOR_AMAX 1

VG_API vg_status vg_quantize_fp8_tensor(const void* x, vg_dtype x_dtype, int64_t count, const float* static_scale,
                                        void* out, float* scale, void* stream);

/* Activations to FP8 E4M3 with one scale per 128 inputs of a row (the fixture's fp8_1x128 rule): per row r and
 * group g, qs = 448 * (1 / max|x[r, 128g : 128g + 128]|) (each step rounded to fp32, as the fixture's reference
 * computes it; 1 when the max is 0), out[r, c] = e4m3_satfinite_rne(x[r, c] * qs),
 * scales[g * padded_rows + r] = 1 / qs: the dequantization scales, group-major with the rows contiguous (the layout
 * cuBLASLt's VEC128_32F scaling reads). x [rows, cols] row-major (bf16 or fp32), cols % 128 == 0; out is
 * [padded_rows, cols] and scales [cols / 128, padded_rows]: rows from `rows` to padded_rows (a multiple of 4,
 * >= rows) get zero codes and scale 1. */
VG_API vg_status vg_quantize_fp8_groups(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols,
                                        int64_t padded_rows, void* out, float* scales, void* stream);

/* Activations to FP8 E4M3 with one scale per row (per token), in one pass over x: per row r,
 * qs = 448 * (1 / max|x[r, :]|) (each step rounded to fp32; 1 when the max is 0),
 * out[r, c] = e4m3_satfinite_rne(x[r, c] * qs), scales[r] = 1 / qs (the dequantization scale, the a_scale of
 * VG_FP8_SCALING_ROWS). x [rows, cols] row-major (bf16 or fp32), cols a positive multiple of 8; out [rows, cols];
 * x, out 16-byte aligned. One launch on `stream`. */
VG_API vg_status vg_quantize_fp8_rows(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* out,
                                      float* scales, void* stream);

/* As vg_quantize_fp8_rows, of GELU(x) (the tanh form, with tanh.approx.f32), each value rounded to x's dtype before the
 * row's max|.| is taken, as a GELU stored in that dtype would be: the quantized input of a linear that follows a GELU,
 * the GELU taken out of the previous GEMM's epilogue (where it cost more than on this memory-bound pass). */
VG_API vg_status vg_quantize_fp8_rows_gelu(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* out,
                                           float* scales, void* stream);

/* An FP8 GEMM whose epilogue writes the next linear's FP8 input (CUTLASS's Hopper kernel, sm_90a; a DiT's FFN up
 * projection): codes[M, N] e4m3 = satfinite(GELU_tanh(row_scale[m] · (a · wᵀ)[m, n] + bias[n]) / out_scale[m]), read by a
 * per-row scaled FP8 GEMM with out_scale as its activation scales. a: e4m3 [M, K] row-major with per-row scales a_scale
 * (vg_quantize_fp8_rows' or a norm's); w: e4m3 [N, K] row-major with one (per-tensor) scale w_scale; bias bf16 [N] or
 * NULL. N and K multiples of 16, every pointer 16-byte aligned. vg_fp8_gelu_row_scales writes, per row, out_scale (a
 * bound of the row's max |GELU| that holds before the product exists: Cauchy-Schwarz over the row's codes and the
 * weight's row norms, vg_fp8_weight_row_norms, made once per weight, so no code saturates), row_scale = a_scale · w_scale
 * and inv_half = 0.5 / out_scale, which the GEMM reads. A library built without CUTLASS, or a GPU other than compute
 * capability 9.x, answers VG_ERROR_NOT_SUPPORTED (vg_fp8_gemm_gelu_rows_workspace_size is the probe). */
VG_API vg_status vg_fp8_weight_row_norms(const void* w, int64_t n, int64_t k, float* norms, void* stream);
VG_API vg_status vg_fp8_gelu_row_scales(const float* a_scale, int64_t m, int64_t k, const float* w_norms, const float* w_scale,
                                        const void* bias, int64_t n, float* out_scale, float* row_scale, float* inv_half,
                                        void* stream);
VG_API vg_status vg_fp8_gemm_gelu_rows_workspace_size(int64_t m, int64_t n, int64_t k, size_t* bytes);
VG_API vg_status vg_fp8_gemm_gelu_rows(const void* a, const void* w, const void* bias, const float* row_scale, const float* inv_half,
                                       int64_t m, int64_t n, int64_t k, void* codes, void* workspace, size_t workspace_bytes,
                                       void* stream);

/* FP8 GEMM (cuBLASLt, fp32 accumulation): out[M, N] = (a[M, K] · wᵀ) dequantized (+ bias[N]) (-> GELU tanh).
 * a: e4m3 [M, K] row-major; w: e4m3 [N, K] row-major (nn.Linear's [out, in], the bf16 GEMMs' VG_WEIGHT_NK); out
 * bf16 [M, N] row-major; bias bf16 [N]. K and N multiples of 16. Scales (device fp32, 16-byte aligned):
 *   VG_FP8_SCALING_TENSOR: a_scale and w_scale one float each (real = stored * scale);
 *   VG_FP8_SCALING_BLOCK128 (Hopper, cuBLASLt 12.9+ 1x128 / 128x128 block scaling; K and N multiples of 128,
 *     M a multiple of 4): a_scale [K/128, M] as vg_quantize_fp8_groups writes it; w_scale one float per 128x128
 *     block of w, [N/128, ceil4(K/128)] row-major (ModelOpt's [out/128, in/128], rows padded to a multiple of 4);
 *   VG_FP8_SCALING_ROWS (Hopper, cuBLASLt 12.9+ OUTER_VEC scaling): a_scale M floats, one per row of a, as
 *     vg_quantize_fp8_rows writes them; w_scale N floats, one per output feature (row of w). cuBLASLt takes
 *     per-row scales on Hopper only on both operands together, so a per-tensor weight passes its scale repeated N
 *     times (the engine uploads that vector once, with the weight).
 * cuBLASLt's FP8 kernels need compute capability 8.9+ (per tensor) or 9.0 (blocks); plan creation fails with
 * VG_ERROR_NOT_SUPPORTED naming the scaling where cuBLASLt has no algorithm. */
typedef enum vg_fp8_scaling {
    VG_FP8_SCALING_TENSOR = 0,
    VG_FP8_SCALING_BLOCK128 = 1,
    VG_FP8_SCALING_ROWS = 2
} vg_fp8_scaling;

typedef struct vg_fp8_gemm_desc {
    uint32_t struct_size;  /* sizeof(vg_fp8_gemm_desc) */
    int64_t m, n, k;
    vg_fp8_scaling scaling;
    vg_epilogue epilogue;
    /* VG_FP8_SCALING_TENSOR and _ROWS: 1 = sum the products in the tensor core's own FP8 accumulator for the whole K loop
     * (cuBLASLt's FAST_ACCUM, as TensorRT-LLM's and vLLM's FP8 linears do), 0 = promote partial sums to fp32 every few
     * K steps (slower, closer to an fp32 reference). Block scaling always promotes. */
    int32_t fast_accumulation;
} vg_fp8_gemm_desc;

typedef struct vg_fp8_gemm_plan_t* vg_fp8_gemm_plan;
VG_API vg_status vg_fp8_gemm_plan_create(vg_context ctx, const vg_fp8_gemm_desc* desc, vg_fp8_gemm_plan* out);
VG_API vg_status vg_fp8_gemm_plan_destroy(vg_fp8_gemm_plan plan);
VG_API vg_status vg_fp8_gemm_plan_workspace_size(vg_fp8_gemm_plan plan, size_t* bytes);
VG_API vg_status vg_fp8_gemm_run(vg_fp8_gemm_plan plan, const void* a, const float* a_scale, const void* w,
                                 const float* w_scale, const void* bias, void* out, void* workspace,
                                 size_t workspace_bytes, void* stream);
/* Times up to max_candidates of cuBLASLt's algorithms on these buffers and keeps the fastest, as vg_gemm_plan_tune
 * does (synchronizes `stream`, overwrites `out`); get_algo / set_algo move the choice through a
 * VG_GEMM_ALGO_BLOB_BYTES blob for the engine cache, with the same checks as the bf16 plan's. */
VG_API vg_status vg_fp8_gemm_plan_tune(vg_fp8_gemm_plan plan, const void* a, const float* a_scale, const void* w,
                                       const float* w_scale, const void* bias, void* out, void* workspace,
                                       size_t workspace_bytes, int32_t max_candidates, int32_t iterations, void* stream,
                                       float* best_ms, int32_t* tried);
VG_API vg_status vg_fp8_gemm_plan_get_algo(vg_fp8_gemm_plan plan, void* blob, size_t blob_bytes);
VG_API vg_status vg_fp8_gemm_plan_set_algo(vg_fp8_gemm_plan plan, const void* blob, size_t blob_bytes);

/* NVFP4 weights to bf16 (weight-only: Hopper has no FP4 tensor cores; the engine unpacks into a scratch buffer
 * before a bf16 GEMM). packed: uint8 [rows, cols / 2], byte = (odd << 4) | even (low nibble first), E2M1 codes
 * (bit 3 the sign, code 8 decodes to +0); block_scales: e4m3 [rows, cols / 16]; scale_2: one device float.
 * out[r, c] = bf16_rne(E2M1(code) * (float(block_scale) * scale_2)), bf16 [rows, cols] row-major. cols % 16 == 0;
 * packed 8-byte and out 16-byte aligned. */
VG_API vg_status vg_dequantize_nvfp4(const void* packed, const void* block_scales, const float* scale_2, int64_t rows,
                                     int64_t cols, void* out, void* stream);

/* NVFP4 operands for FP4 tensor cores (Blackwell; fp4_gemm below). Block scales go in cuBLASLt's tiled layout for
 * VEC16_UE4M3 scaling: tiles of 128 rows x 4 blocks (64 inputs), 512 bytes each, row band by row band, tiles of a band
 * contiguous; inside a tile the scale of row r, block c sits at (r % 32) * 16 + ((r % 128) / 32) * 4 + c % 4. Rows are
 * padded to a multiple of 128 and blocks to a multiple of 4, padding scales 0: vg_nvfp4_tiled_scale_bytes(rows, cols)
 * bytes (0 when cols is not a positive multiple of 16). */
VG_API int64_t vg_nvfp4_tiled_scale_bytes(int64_t rows, int64_t cols);

/* Activations to NVFP4 by the weights' rule (ModelOpt's, the fixture's nvfp4 rule), dynamically: scale_2 =
 * max|x| / (6 * 448) computed on the device into scale[VG_NVFP4_SCALE_2] (scale: VG_NVFP4_SCALE_FLOATS device floats,
 * 16-byte aligned; [VG_NVFP4_AMAX] is scratch); per 16 inputs of a row the e4m3 scale e4m3(amax_b / (6 * scale_2))
 * (1 for an all-zero block) into tiled_scales, and the codes E2M1(x / (block_scale * scale_2)) into packed (uint8
 * [rows, cols / 2], low nibble first). x bf16 or fp32 [rows, cols], cols % 16 == 0, x 16-byte and packed 8-byte
 * aligned. Three launches on `stream`. */
#define VG_NVFP4_SCALE_FLOATS 4
#define VG_NVFP4_SCALE_2 0
#define VG_NVFP4_AMAX 1
VG_API vg_status vg_quantize_nvfp4(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* packed,
                                   void* tiled_scales, float* scale, void* stream);

/* A weight's row-major e4m3 block scales (uint8 [rows, cols / 16], ModelOpt's weight_scale) into the tiled layout. */
VG_API vg_status vg_swizzle_nvfp4_scales(const void* block_scales, int64_t rows, int64_t cols, void* tiled_scales,
                                         void* stream);

/* NVFP4 GEMM on FP4 tensor cores (cuBLASLt, fp32 accumulation): out[M, N] (bf16, row-major) = a[M, K] · wᵀ, both
 * operands packed E2M1 ([M, K / 2] and [N, K / 2], nn.Linear's layout) with tiled e4m3 block scales, times
 * *a_scale_2 * *w_scale_2. alpha_beta: two device floats of scratch (the run writes alpha and beta there first:
 * capture-safe). K a multiple of 64, N of 16. Needs compute capability 10.0 or newer and CUDA 12.8+: elsewhere plan
 * creation fails with VG_ERROR_NOT_SUPPORTED saying why (on Hopper, NVFP4 runs weight-only: vg_dequantize_nvfp4). */
typedef struct vg_nvfp4_gemm_desc {
    uint32_t struct_size;  /* sizeof(vg_nvfp4_gemm_desc) */
    int64_t m, n, k;
} vg_nvfp4_gemm_desc;

typedef struct vg_nvfp4_gemm_plan_t* vg_nvfp4_gemm_plan;
VG_API vg_status vg_nvfp4_gemm_plan_create(vg_context ctx, const vg_nvfp4_gemm_desc* desc, vg_nvfp4_gemm_plan* out);
VG_API vg_status vg_nvfp4_gemm_plan_destroy(vg_nvfp4_gemm_plan plan);
VG_API vg_status vg_nvfp4_gemm_plan_workspace_size(vg_nvfp4_gemm_plan plan, size_t* bytes);
VG_API vg_status vg_nvfp4_gemm_run(vg_nvfp4_gemm_plan plan, const void* a, const void* a_scales, const float* a_scale_2,
                                   const void* w, const void* w_scales, const float* w_scale_2, float* alpha_beta, void* out,
                                   void* workspace, size_t workspace_bytes, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Fused normalization kernels. Rows are tokens: x is [rows, C] row-major (row stride x_stride >= C,
 * 0 = C), rows = batch * tokens; out is [rows, C] contiguous unless out_stride says otherwise. C must
 * be a multiple of 8 and every pointer/stride 16-byte aligned (bf16: multiples of 8 elements).
 * ---------------------------------------------------------------------------------------------- */

/* A per-batch (or per-token) vector broadcast over rows: element (row, c) of the broadcast tensor is
 * ptr[b * batch_stride + t * token_stride + c], with b = row / tokens, t = row % tokens.
 * token_stride 0 = one vector per batch item (Wan 2.1's AdaLN); batch_stride 0 too = one vector
 * for all rows (e.g. a norm weight). */
typedef struct vg_row_vector {
    const void* ptr;
    vg_dtype dtype;        /* VG_DTYPE_FP32 or VG_DTYPE_BF16 */
    int64_t batch_stride;
    int64_t token_stride;
} vg_row_vector;

typedef enum vg_norm_kind {
    VG_NORM_LAYER = 0, /* (x - mean) / sqrt(var + eps), biased variance */
    VG_NORM_RMS = 1    /* x / sqrt(mean(x²) + eps) */
} vg_norm_kind;

/* out = (norm(x) [* weight] [+ bias]) [* (1 + scale) + shift], computed in fp32, stored as out_dtype.
 * weight/bias: optional C-vectors (NULL = none; bias only with VG_NORM_LAYER); fp32 or bf16 (dtype
 * given by param_dtype). scale/shift: optional vg_row_vector pointers (NULL = no modulation; both or
 * neither). Covers Wan's `norm1(x.float()) * (1 + scale_msa) + shift_msa`, its affine norm2, and
 * FLUX/Qwen AdaLN. x_dtype: BF16 or FP32; out_dtype: BF16 or FP32. */
VG_API vg_status vg_norm_modulate(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                  void* out, vg_dtype out_dtype, int64_t out_stride,
                                  int64_t rows, int64_t tokens, int64_t channels, float eps,
                                  const void* weight, const void* bias, vg_dtype param_dtype,
                                  const vg_row_vector* scale, const vg_row_vector* shift,
                                  void* stream);

/* vg_norm_modulate with its output as FP8 E4M3 codes and one scale per row, the input of a dynamic FP8 linear
 * (VG_FP8_SCALING_ROWS): per row, y = the fp32 values vg_norm_modulate computes, qs = 448 * (1 / max|y|) (each step
 * rounded to fp32; 1 when the max is 0), codes[row, c] = e4m3_satfinite_rne(y[c] * qs) (row stride channels),
 * row_scales[row] = 1 / qs: vg_quantize_fp8_rows' rule on the fp32 values, without their bf16 rounding. */
VG_API vg_status vg_norm_modulate_fp8_rows(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                           void* codes, float* row_scales, int64_t rows, int64_t tokens, int64_t channels,
                                           float eps, const void* weight, const void* bias, vg_dtype param_dtype,
                                           const vg_row_vector* scale, const vg_row_vector* shift, void* stream);

/* vg_norm_modulate with its output as FP8 E4M3 codes of one given factor: codes = e4m3_satfinite_rne(y · *quant_factor)
 * (a device float), row stride channels; the input of an FP8 kernel with a per-tensor scale known before the values
 * (a bound: RMSNorm's |y_c| <= sqrt(channels) · max|weight|). Vectorizable rows only (16-byte aligned, channels a
 * multiple of 8, at most 32768): VG_ERROR_NOT_SUPPORTED otherwise. */
VG_API vg_status vg_norm_modulate_fp8_scaled(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                             void* codes, const float* quant_factor, int64_t rows, int64_t tokens,
                                             int64_t channels, float eps, const void* weight, const void* bias,
                                             vg_dtype param_dtype, const vg_row_vector* scale, const vg_row_vector* shift,
                                             void* stream);

/* A residual and the norm that reads it, in one pass over the rows (a DiT block's `x = x + y * gate` followed by the
 * next sub-block's norm): sum = x + y * gate (gate NULL: x + y), computed in fp32 and stored as x_dtype into `sum`,
 * then the norm of sum as stored: vg_norm_modulate's output (out_dtype BF16 or FP32), or, with row_scales != NULL,
 * vg_norm_modulate_fp8_rows' E4M3 codes in out and row scales. Results equal vg_gated_residual followed by the norm.
 * x, y, sum, out: contiguous [rows, channels], 16-byte aligned, channels a multiple of 8 (at most 32768); sum may
 * alias x. gate: a vg_row_vector (per batch / token) with strides that are multiples of 8. */
VG_API vg_status vg_residual_norm(vg_norm_kind kind, const void* x, vg_dtype x_dtype, const void* y, vg_dtype y_dtype,
                                  const vg_row_vector* gate, void* sum, void* out, vg_dtype out_dtype, float* row_scales,
                                  int64_t rows, int64_t tokens, int64_t channels, float eps, const void* weight,
                                  const void* bias, vg_dtype param_dtype, const vg_row_vector* scale,
                                  const vg_row_vector* shift, void* stream);

/* QK norm + rotary embedding, bf16 in and out (Wan's "rms_norm_across_heads" + 3D RoPE):
 *   y = bf16(rmsnorm(x[row, 0:C]) * weight)      (RMSNorm over the full C = heads * head_dim)
 *   out[row, h, 2i]   = y[2i] * cos[t, i] - y[2i+1] * sin[t, i]
 *   out[row, h, 2i+1] = y[2i] * sin[t, i] + y[2i+1] * cos[t, i]   (interleaved pairs, i < head_dim/2)
 * with t = row % tokens the token position. cos/sin are fp32 tables [tokens, head_dim/2] with row
 * stride table_stride (0 = head_dim/2), the same frequencies for every head and batch item — ONNX
 * RotaryEmbedding's interleaved cos/sin caches; diffusers' repeat-interleaved [S, D] tables are
 * cos[:, 0::2] / sin[:, 1::2]. apply_norm 0 skips the RMSNorm (RoPE only); weight: bf16 or fp32 [C]
 * (weight_dtype), NULL = no affine weight. cos == NULL (and sin == NULL) = norm only. head_dim % 8
 * == 0. out may equal x (in place) when strides match. */
VG_API vg_status vg_rmsnorm_rope(const void* x, int64_t x_stride, void* out, int64_t out_stride,
                                 int64_t rows, int64_t tokens, int64_t heads, int64_t head_dim,
                                 int32_t apply_norm, float eps, const void* weight, vg_dtype weight_dtype,
                                 const float* cos, const float* sin, int64_t table_stride,
                                 void* stream);

/* ------------------------------------------------------------------------------------------------
 * Elementwise glue. All tensors [rows, C] row-major contiguous (C % 8 == 0 where stated).
 * ---------------------------------------------------------------------------------------------- */

/* Gated residual: out = x + y * gate, computed in fp32 (Wan: `(x.float() + y * gate).type_as(x)`).
 * x, out: bf16 or fp32 (x_dtype, both); y: bf16 or fp32; gate: a vg_row_vector (per batch/token).
 * out may alias x. C % 8 == 0. */
VG_API vg_status vg_gated_residual(const void* x, vg_dtype x_dtype, const void* y, vg_dtype y_dtype,
                                   const vg_row_vector* gate, void* out,
                                   int64_t rows, int64_t tokens, int64_t channels, void* stream);

typedef enum vg_unary_op {
    VG_UNARY_GELU_TANH = 0, /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³))) */
    VG_UNARY_GELU_ERF = 1,  /* 0.5 x (1 + erf(x / sqrt(2))) */
    VG_UNARY_SILU = 2,      /* x * sigmoid(x) */
    VG_UNARY_IDENTITY = 3   /* a cast when in and out dtypes differ */
} vg_unary_op;

/* out[i] = op(x[i]) for count elements, fp32 math. in/out dtypes: any pair of FP32/BF16
 * (VG_UNARY_IDENTITY with FP32<->BF16 is the cast). out may alias x when the dtypes match. */
VG_API vg_status vg_unary(vg_unary_op op, const void* x, vg_dtype x_dtype, void* out,
                          vg_dtype out_dtype, int64_t count, void* stream);

typedef enum vg_binary_op {
    VG_BINARY_ADD = 0,
    VG_BINARY_MUL = 1,
    VG_BINARY_SUB = 2
} vg_binary_op;

/* out[r, c] = a[r, c] op b[r * b_row_stride + c] for a [rows, C]: b_row_stride = C is a full
 * tensor, 0 broadcasts one C-vector over all rows (ONNX Add/Mul with a last-dim vector).
 * a, out: same dtype (FP32 or BF16); b: FP32 or BF16. out may alias a. */
VG_API vg_status vg_binary(vg_binary_op op, const void* a, vg_dtype a_dtype, const void* b,
                           vg_dtype b_dtype, int64_t b_row_stride, void* out,
                           int64_t rows, int64_t channels, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Convolution (cuDNN): y = conv(x, w) (+ bias[c]) over 1, 2 or 3 spatial dims, NC[D]HW contiguous,
 * groups 1, symmetric zero padding (asymmetric padding is a copy into a padded buffer first).
 * FP32 tensors run with cuDNN's default math, which allows TF32 tensor cores, as PyTorch does by
 * default (torch.backends.cudnn.allow_tf32); BF16 tensors accumulate in fp32. The algorithm is
 * cuDNN's heuristic first choice whose workspace fits max_workspace (PyTorch's default without
 * cudnn.benchmark). w is [out_channels, in_channels, kernel...] in the tensor dtype; bias fp32 or the
 * tensor dtype (bias_dtype).
 * ---------------------------------------------------------------------------------------------- */

typedef struct vg_conv_desc {
    uint32_t struct_size;   /* sizeof(vg_conv_desc) */
    vg_dtype dtype;         /* x, w, y: VG_DTYPE_FP32 or VG_DTYPE_BF16 */
    int32_t spatial_dims;   /* 1..3 */
    int64_t batch, in_channels, out_channels;
    int64_t in_size[3];     /* input spatial sizes (first spatial_dims used) */
    int64_t kernel[3], stride[3], pad[3], dilation[3];
    size_t max_workspace;   /* 0 = 4 GiB */
} vg_conv_desc;

typedef struct vg_conv_plan_t* vg_conv_plan;
VG_API vg_status vg_conv_plan_create(vg_context ctx, const vg_conv_desc* desc, vg_conv_plan* out);
VG_API vg_status vg_conv_plan_destroy(vg_conv_plan plan);
/* Workspace bytes and output spatial sizes (out_size[3], first spatial_dims written). */
VG_API vg_status vg_conv_plan_info(vg_conv_plan plan, size_t* workspace_bytes, int64_t* out_size);
/* bias may be NULL (then bias_dtype is ignored). Capture-safe. */
VG_API vg_status vg_conv_run(vg_conv_plan plan, const void* x, const void* w, const void* bias, vg_dtype bias_dtype,
                             void* y, void* workspace, size_t workspace_bytes, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Batched matrix product (cuBLASLt), row-major: out[i] = alpha * a[i] · op(b[i]) for i < batch, with
 * a[i] = a + i * stride_a ([M, K], row stride lda), b[i] = b + i * stride_b ([K, N] row stride ldb when
 * trans_b = 0; [N, K] when trans_b = 1), out[i] = out + i * stride_c ([M, N], row stride ldc).
 * a and b share a dtype (FP32 or BF16); out FP32 or BF16; fp32 accumulation (FP32 inputs: full fp32
 * math). The general attention path (scores and probabilities · values) and weight-free MatMuls.
 * workspace may be NULL (0 bytes). Capture-safe (descriptors are made on the host per call).
 * ---------------------------------------------------------------------------------------------- */

typedef struct vg_bgemm_desc {
    uint32_t struct_size;   /* sizeof(vg_bgemm_desc) */
    int64_t batch, m, n, k;
    int32_t trans_b;
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c;
    vg_dtype in_dtype, out_dtype;
    float alpha;
} vg_bgemm_desc;
VG_API vg_status vg_bgemm(vg_context ctx, const vg_bgemm_desc* desc, const void* a, const void* b, void* out,
                          void* workspace, size_t workspace_bytes, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Row softmax with an optional additive bias (attention scores): for every row r of [rows, n]
 * (row stride n), out[r, j] = softmax_j(x[r, j] * scale + bias(r, j)) in fp32. Rows are indexed as
 * (i0, i1, i2) with sizes row_dims[3] (rows = product); bias element (r, j) is
 * bias[i0 * bias_strides[0] + i1 * bias_strides[1] + i2 * bias_strides[2] + j * bias_strides[3]]
 * (0 strides broadcast), so [B, H, Sq, Skv] masks broadcast over heads or queries. A row whose
 * every entry is -inf gives zeros. x and out may alias. x/out FP32 or BF16, bias FP32 or BF16.
 * ---------------------------------------------------------------------------------------------- */
VG_API vg_status vg_softmax_rows(const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype,
                                 const int64_t* row_dims, int64_t n, float scale,
                                 const void* bias, vg_dtype bias_dtype, const int64_t* bias_strides, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Small fused kernels for encoders and VAEs.
 * ---------------------------------------------------------------------------------------------- */

/* Embedding lookup: out[i, :] = table[indices[i], :] for i < count; table [rows, width] (FP32 or BF16),
 * indices INT64 on the device (clamped to [0, rows)), out [count, width] FP32 or BF16. */
VG_API vg_status vg_gather_rows(const void* table, vg_dtype table_dtype, int64_t rows, int64_t width,
                                const int64_t* indices, int64_t count, void* out, vg_dtype out_dtype, void* stream);

/* Channel-first L2 normalization (PyTorch F.normalize(x, dim=1) * weight, Wan's VAE RMS norm):
 * x [batch, channels, inner] contiguous, out[b, c, s] = x[b, c, s] / max(||x[b, :, s]||_2, eps) * weight[c].
 * weight fp32 [channels] (NULL = 1). x/out FP32 or BF16 (same dtype); out may alias x. */
VG_API vg_status vg_channel_l2norm(const void* x, void* out, vg_dtype dtype, int64_t batch, int64_t channels,
                                   int64_t inner, float eps, const float* weight, void* stream);

/* GroupNorm (torch.nn.GroupNorm, ONNX GroupNormalization-21; AutoencoderKL): x [batch, channels, inner] contiguous,
 * the channels split into `groups` groups of channels/groups consecutive channels. Per (batch, group) the mean and
 * the biased variance over its (channels/groups)·inner values (fp32, per-thread partial sums in fp64), then
 * out[b, c, s] = (x[b, c, s] - mean) · rsqrt(var + eps) · weight[c] + bias[c], then y · sigmoid(y) when `silu` is 1
 * (the SiLU that follows every VAE GroupNorm but the attention's). weight/bias fp32 [channels] (NULL = 1 / 0).
 * x and out FP32 or BF16, independently; out may alias x when both have the same dtype. Two kernels: per-slice statistics
 * of each group (in double, shifted by the group's first value) into `workspace`, then normalize + affine (+ SiLU). */
VG_API vg_status vg_group_norm(const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype, int64_t batch,
                               int64_t channels, int64_t inner, int64_t groups, float eps, const float* weight,
                               const float* bias, int32_t silu, void* workspace, size_t workspace_bytes, void* stream);
/* The workspace vg_group_norm needs (the per-slice statistics of every (batch, group); a few KB). */
VG_API vg_status vg_group_norm_workspace_size(int64_t batch, int64_t channels, int64_t inner, int64_t groups,
                                              size_t* bytes);

/* ArgMax over the middle axis of x [outer, n, inner] (contiguous), as ONNX ArgMax and torch.argmax: out[o, i] = the
 * index j < n of the largest x[o, j, i], the first one among equals (the last when select_last is 1). x FP32, BF16 or
 * INT64 (int64 compared as integers: CLIP's EOS position is the largest token id); out INT64 [outer, inner]. NaN is
 * not treated specially. One thread per output (n is a token count). */
VG_API vg_status vg_argmax(const void* x, vg_dtype x_dtype, int64_t outer, int64_t n, int64_t inner, int32_t select_last,
                           int64_t* out, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Runtime: device memory, streams, CUDA graphs, events, device properties. What the C# engine needs
 * beyond the kernels, so that it links no CUDA library of its own. Memory functions that say
 * "async" only enqueue on `stream`; vg_malloc/vg_free synchronize as cudaMalloc/cudaFree do.
 * ---------------------------------------------------------------------------------------------- */

VG_API vg_status vg_malloc(size_t bytes, void** out);   /* cudaMalloc; bytes 0 gives NULL */
VG_API vg_status vg_free(void* ptr);                    /* NULL is accepted */

typedef enum vg_copy_kind {
    VG_COPY_HOST_TO_DEVICE = 0,
    VG_COPY_DEVICE_TO_HOST = 1,
    VG_COPY_DEVICE_TO_DEVICE = 2
} vg_copy_kind;
/* Async copy on stream (pageable host memory is staged by the driver). */
VG_API vg_status vg_memcpy_async(void* dst, const void* src, size_t bytes, vg_copy_kind kind, void* stream);
VG_API vg_status vg_memset_async(void* dst, int32_t byte_value, size_t bytes, void* stream);

VG_API vg_status vg_stream_create(void** out);          /* non-blocking stream */
VG_API vg_status vg_stream_destroy(void* stream);
VG_API vg_status vg_stream_synchronize(void* stream);

/* CUDA graphs: capture everything enqueued on `stream` between begin and end (thread-local capture
 * mode), instantiate, replay. */
typedef struct vg_graph_t* vg_graph;
VG_API vg_status vg_graph_capture_begin(void* stream);
VG_API vg_status vg_graph_capture_end(void* stream, vg_graph* out);
VG_API vg_status vg_graph_launch(vg_graph graph, void* stream);
VG_API vg_status vg_graph_destroy(vg_graph graph);      /* NULL is accepted */

VG_API vg_status vg_event_create(void** out);
VG_API vg_status vg_event_destroy(void* event);
VG_API vg_status vg_event_record(void* event, void* stream);
/* Waits for `end`, then gives the milliseconds between the two recorded events. */
VG_API vg_status vg_event_elapsed_ms(void* start, void* end, float* ms);

typedef struct vg_device_info {
    uint32_t struct_size;   /* sizeof(vg_device_info) */
    int32_t cc_major, cc_minor, sm_count;
    int64_t total_memory;
    char name[256];
} vg_device_info;
VG_API vg_status vg_get_device_info(int32_t device, vg_device_info* out);

/* ------------------------------------------------------------------------------------------------
 * Generic N-d elementwise: out[i] = op(a[i] (, b[i])) over an index space of `rank` dims (<= 8,
 * innermost last) with per-tensor element strides (0 = broadcast along that dim). Covers ONNX's
 * broadcast arithmetic, activations, casts and every layout copy (Transpose, Expand, Slice, Concat
 * into an offset view, Split, im2col of a kernel==stride Conv): copies are VG_ND_COPY with strided
 * views. fp32 math; each tensor FP32 or BF16 independently. Descriptors are read at enqueue time
 * (capture-safe). Adjacent dims that are contiguous for all tensors are merged before launch.
 * ---------------------------------------------------------------------------------------------- */

#define VG_MAX_RANK 8
typedef struct vg_nd_tensor {
    void* ptr;
    vg_dtype dtype;
    int64_t strides[VG_MAX_RANK];
} vg_nd_tensor;

typedef enum vg_nd_op {
    VG_ND_COPY = 0, VG_ND_ADD = 1, VG_ND_SUB = 2, VG_ND_MUL = 3, VG_ND_DIV = 4, VG_ND_POW = 5,
    VG_ND_MAX = 6, VG_ND_MIN = 7,
    VG_ND_EQUAL = 8, /* 1.0 where a == b, else 0.0 (an int64 `a` is read as float: exact below 2^24) */
    VG_ND_SILU_MUL = 9, /* silu(a) · b: SwiGLU's gate (a and b may be the two halves of one tensor, as strided views) */
    VG_ND_COPY_WHERE = 10, /* out = a where b != 0; elsewhere out keeps its value (ONNX Where: a fill with the other branch first) */
    VG_ND_SIN = 16, VG_ND_COS = 17, VG_ND_EXP = 18, VG_ND_SIGMOID = 19, VG_ND_NEG = 20, VG_ND_SQRT = 21,
    VG_ND_TANH = 22, VG_ND_RECIPROCAL = 23, VG_ND_ABS = 24, VG_ND_RELU = 25, VG_ND_GELU_TANH = 26,
    VG_ND_GELU_ERF = 27, VG_ND_SILU = 28, VG_ND_ERF = 29, VG_ND_LOG = 30
} vg_nd_op;

/* b must be NULL for unary ops (values < 16) other than the binary ones (1..9), and non-NULL for them. */
VG_API vg_status vg_nd(vg_nd_op op, int32_t rank, const int64_t* sizes, const vg_nd_tensor* out,
                       const vg_nd_tensor* a, const vg_nd_tensor* b, void* stream);

/* Rotate-half rotary embedding over an N-d view: out = x·cos + rotate_half(x)·sin, where along dim
 * `axis` (size n, split into [first, n − first]) rotate_half(x)[c] = −x[c + first] for c < n − first
 * and x[c − (n − first)] otherwise: torch.cat((−x2, x1)) of x split into (x1, x2) along the axis.
 * first = n/2 over a head's channels is the rotate_half RoPE of Qwen/Cosmos3 (cos/sin [tokens, head_dim]
 * broadcast over heads); a head viewed [..., 2, head_dim/2] with axis the dim of 2 and first = 1 is
 * LTX-2's split RoPE (one frequency per head and pair). Index space `sizes` (rank <= 8, innermost last),
 * per-tensor element strides (0 = broadcast; x's stride along `axis` must not be 0). x, out: FP32 or
 * BF16; cos, sin: FP32; fp32 math, one rounding. out must not overlap x. */
VG_API vg_status vg_rope_rotate_half(int32_t rank, const int64_t* sizes, int32_t axis, int64_t first,
                                     const vg_nd_tensor* out, const vg_nd_tensor* x, const vg_nd_tensor* cos,
                                     const vg_nd_tensor* sin, void* stream);

/* ------------------------------------------------------------------------------------------------
 * Linear combination of float32 vectors: out[i] = sum_k coefs[k] * srcs[k][i] for 0 <= i < count,
 * accumulated in float64 and stored as float32: the denoising loop's guidance and scheduler updates
 * (coefficients come from the host each call, so nothing is read back). out may alias a source over
 * the same range. 1..VG_COMBINE_MAX_TERMS terms; arguments are read at enqueue time.
 * ---------------------------------------------------------------------------------------------- */
#define VG_COMBINE_MAX_TERMS 8
VG_API vg_status vg_combine(float* out, int64_t count, int32_t terms, const double* coefs, const float* const* srcs,
                            void* stream);

/* ------------------------------------------------------------------------------------------------
 * Row norm rescale of float32 rows: out[r, i] = src[r, i] * (||ref[r]|| / ||src[r]||) for rows of
 * row_length consecutive elements (true classifier-free guidance with norm rescaling: the guided
 * prediction takes the conditional prediction's norm per token). Each sum of squares is accumulated
 * in float64 and its square root rounded to float32; the ratio and the product are float32. A zero
 * source row gives non-finite values (as torch does). out may alias src or ref. Any row length;
 * one block per row.
 * ---------------------------------------------------------------------------------------------- */
VG_API vg_status vg_rescale_row_norms(float* out, const float* src, const float* ref, int64_t rows, int64_t row_length,
                                      void* stream);

/* L1 distance of float32 tensors: sums[0] = sum |a[i] - b[i]|, sums[1] = sum |b[i]| over n elements, accumulated in
 * float64 (Cache-DiT's relative L1 between residuals, mean|a - b| / mean|b|). sums: two device doubles, overwritten;
 * the order of the float64 additions varies between runs (atomics). */
VG_API vg_status vg_l1_distance(const float* a, const float* b, int64_t n, double* sums, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* VISUALGEN_NATIVE_H */
