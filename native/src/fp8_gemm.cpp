// FP8 (E4M3 x E4M3) GEMM through cuBLASLt: out[M, N] (bf16) = (a[M, K] · wᵀ) dequantized by the operands' scales,
// fp32 accumulation. Row-major a [M, K] and w [N, K] (nn.Linear's layout) are, column-major, B = a (K x M) and
// A = w (K x N) with op(A) = Aᵀ: the "TN" case, the only one cuBLASLt's FP8 kernels take on Hopper, and the layout
// of the bf16 GEMMs' packed [N, K] weights. Scale factors are device pointers (set as matmul descriptor
// attributes when the GEMM is enqueued), so nothing reads them on the host: capture-safe.
#include "internal.h"

#include <string>

struct vg_fp8_gemm_plan_t : vg::LtMatmul {
    vg_context ctx = nullptr;
    vg_fp8_gemm_desc desc{};
    bool has_bias = false;
};

namespace {

constexpr size_t kMaxWorkspace = 32u << 20;

vg_status validate(const vg_fp8_gemm_desc* d, const char* fn) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!d) return bad("desc is NULL");
    if (d->struct_size != sizeof(vg_fp8_gemm_desc))
        return bad("desc->struct_size is " + std::to_string(d->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_fp8_gemm_desc)));
    if (d->m <= 0 || d->n <= 0 || d->k <= 0) return bad("m, n, k must be positive");
    // 16-byte rows: K fp8 codes per row of a and w, N bf16 outputs per row of out (cuBLASLt's FP8 requirement)
    if (d->k % 16 || d->n % 16)
        return bad("k and n must be multiples of 16 (got k " + std::to_string(d->k) + ", n " + std::to_string(d->n) + ")");
    if (d->scaling != VG_FP8_SCALING_TENSOR && d->scaling != VG_FP8_SCALING_BLOCK128 && d->scaling != VG_FP8_SCALING_ROWS)
        return bad("scaling is not a vg_fp8_scaling");
    if (d->scaling == VG_FP8_SCALING_BLOCK128 && (d->k % 128 || d->n % 128 || d->m % 4))
        return bad("block scaling needs k and n multiples of 128 and m a multiple of 4 (pad the rows; got m " +
                   std::to_string(d->m) + ", n " + std::to_string(d->n) + ", k " + std::to_string(d->k) + ")");
    if (d->epilogue < VG_EPILOGUE_NONE || d->epilogue > VG_EPILOGUE_BIAS_GELU_TANH) return bad("epilogue is not a vg_epilogue");
    if (d->fast_accumulation != 0 && d->fast_accumulation != 1) return bad("fast_accumulation must be 0 or 1");
    if (d->fast_accumulation && d->scaling == VG_FP8_SCALING_BLOCK128)
        return bad("fast_accumulation is for per-tensor and per-row scaling only (block scales are applied at each promotion to fp32)");
    return VG_OK;
}

vg_status create(vg_fp8_gemm_plan p, const char* fn) {
    const auto& d = p->desc;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    VG_TRY(vg::cublas_check(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), fn));
    if (d.scaling == VG_FP8_SCALING_BLOCK128) {
        // A = the weight: one fp32 scale per 128x128 block; B = the activation: one per 128 inputs of a row
        cublasLtMatmulMatrixScale_t wmode = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
        cublasLtMatmulMatrixScale_t amode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F;
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &wmode, sizeof(wmode)), fn));
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &amode, sizeof(amode)), fn));
    }
    if (d.scaling == VG_FP8_SCALING_ROWS) {
        // A = the weight: one scale per output feature (N); B = the activation: one per row (M)
        cublasLtMatmulMatrixScale_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof(mode)), fn));
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof(mode)), fn));
    }
    const int8_t fast = d.fast_accumulation ? 1 : 0;
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof(fast)), fn));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    switch (d.epilogue) {
        case VG_EPILOGUE_BIAS: epi = CUBLASLT_EPILOGUE_BIAS; break;
        case VG_EPILOGUE_GELU_TANH: epi = CUBLASLT_EPILOGUE_GELU; break;
        case VG_EPILOGUE_BIAS_GELU_TANH: epi = CUBLASLT_EPILOGUE_GELU_BIAS; break;
        default: break;
    }
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), fn));
    if (p->has_bias) {
        cudaDataType_t bt = CUDA_R_16BF;  // FP8 inputs with a bf16 D take a bf16 bias
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)), fn));
    }
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_8F_E4M3, d.k, d.n, d.k), fn));
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_8F_E4M3, d.k, d.m, d.k), fn));
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lc, CUDA_R_16BF, d.n, d.m, d.n), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulPreferenceCreate(&p->pref), fn));
    uint32_t al = 16;
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        VG_TRY(vg::cublas_check(cublasLtMatmulPreferenceSetAttribute(p->pref, attr, &al, sizeof(al)), fn));
    size_t maxws = kMaxWorkspace;
    VG_TRY(vg::cublas_check(
        cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxws, sizeof(maxws)), fn));
    // Block scale modes with no scale pointer set are an inconsistent descriptor to the heuristic (the NVIDIA samples
    // and PyTorch set the pointers first): point both at a placeholder device buffer for the query; vg_fp8_gemm_run
    // sets the real ones before every GEMM. (tests/fp8_block_probe.cpp records what this GPU's cuBLASLt accepts.)
    void* placeholder = nullptr;
    if (d.scaling != VG_FP8_SCALING_TENSOR) {
        VG_TRY(vg::cuda_check(cudaMalloc(&placeholder, 256), fn));
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &placeholder, sizeof(placeholder)), fn));
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &placeholder, sizeof(placeholder)), fn));
    }
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(p->ctx->lt, p->op, p->la, p->lb, p->lc, p->lc, p->pref, 1, &r, &found);
    if (placeholder) cudaFree(placeholder);
    VG_TRY(vg::cublas_check(hs, "vg_fp8_gemm_plan_create: cublasLtMatmulAlgoGetHeuristic"));
    if (found < 1)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        std::string(fn) + ": cuBLASLt has no FP8 algorithm for this GEMM on this GPU (" +
                            (d.scaling == VG_FP8_SCALING_BLOCK128 ? "128x128/1x128 block scaling needs Hopper, sm_90"
                             : d.scaling == VG_FP8_SCALING_ROWS   ? "per-row scaling needs Hopper, sm_90, and cuBLASLt 12.9+"
                                                                  : "per-tensor FP8 needs sm_89 or newer") + ")");
    p->algo = r.algo;
    p->algo_workspace = r.workspaceSize;
    return VG_OK;
}

vg_status check_run_args(vg_fp8_gemm_plan plan, const void* a, const float* a_scale, const void* w, const float* w_scale,
                         const void* bias, void* out, void* workspace, size_t workspace_bytes, const char* fn) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!plan) return bad("plan is NULL");
    if (!a || !a_scale || !w || !w_scale || !out) return bad("a, a_scale, w, w_scale and out must not be NULL");
    if (plan->has_bias != (bias != nullptr))
        return bad(plan->has_bias ? "the epilogue needs a bias but bias is NULL" : "bias given but the epilogue has none");
    for (const void* ptr : {a, w, static_cast<const void*>(out), bias})
        if (ptr && !vg::aligned16(ptr)) return bad("a, w, bias and out must be 16-byte aligned");
    if (!vg::aligned16(a_scale) || !vg::aligned16(w_scale)) return bad("a_scale and w_scale must be 16-byte aligned");
    if (workspace_bytes < plan->algo_workspace)
        return bad("workspace_bytes " + std::to_string(workspace_bytes) + " < the plan's " + std::to_string(plan->algo_workspace));
    if (plan->algo_workspace && !workspace) return bad("workspace is NULL but the algorithm needs one");
    return VG_OK;
}

// A_cublas = w, B_cublas = a (see the top of the file)
vg_status set_pointers(vg_fp8_gemm_plan plan, const float* a_scale, const float* w_scale, const void* bias, const char* fn) {
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scale, sizeof(w_scale)), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scale, sizeof(a_scale)), fn));
    if (plan->has_bias)
        VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), fn));
    return VG_OK;
}

vg_status launch(vg_fp8_gemm_plan plan, const cublasLtMatmulAlgo_t* algo, const void* a, const void* w, void* out,
                 void* workspace, size_t workspace_bytes, cudaStream_t stream, const char* fn) {
    float alpha = 1.0f, beta = 0.0f;
    return vg::cublas_check(cublasLtMatmul(plan->ctx->lt, plan->op, &alpha, w, plan->la, a, plan->lb, &beta, out, plan->lc,
                                           out, plan->lc, algo, workspace, workspace_bytes, stream),
                            fn);
}

}  // namespace

extern "C" {

VG_API vg_status vg_fp8_gemm_plan_create(vg_context ctx, const vg_fp8_gemm_desc* desc, vg_fp8_gemm_plan* out) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gemm_plan_create";
    vg::clear_error();
    if (!ctx || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": ctx and out must not be NULL");
    *out = nullptr;
    VG_TRY(validate(desc, fn));
    auto* p = new vg_fp8_gemm_plan_t();
    p->ctx = ctx;
    p->desc = *desc;
    p->has_bias = desc->epilogue == VG_EPILOGUE_BIAS || desc->epilogue == VG_EPILOGUE_BIAS_GELU_TANH;
    vg_status s = create(p, fn);
    if (s != VG_OK) {
        delete p;
        return s;
    }
    *out = p;
    return VG_OK;
    VG_GUARD_END("vg_fp8_gemm_plan_create")
}

VG_API vg_status vg_fp8_gemm_plan_destroy(vg_fp8_gemm_plan plan) {
    VG_GUARD_BEGIN
    vg::clear_error();
    delete plan;
    return VG_OK;
    VG_GUARD_END("vg_fp8_gemm_plan_destroy")
}

VG_API vg_status vg_fp8_gemm_plan_workspace_size(vg_fp8_gemm_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_fp8_gemm_plan_workspace_size: plan and bytes must not be NULL");
    *bytes = plan->algo_workspace;
    return VG_OK;
}

VG_API vg_status vg_fp8_gemm_run(vg_fp8_gemm_plan plan, const void* a, const float* a_scale, const void* w,
                                 const float* w_scale, const void* bias, void* out, void* workspace,
                                 size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gemm_run";
    vg::clear_error();
    VG_TRY(check_run_args(plan, a, a_scale, w, w_scale, bias, out, workspace, workspace_bytes, fn));
    VG_TRY(set_pointers(plan, a_scale, w_scale, bias, "vg_fp8_gemm_run: set the scale and bias pointers"));
    return launch(plan, &plan->algo, a, w, out, workspace, plan->algo_workspace, static_cast<cudaStream_t>(stream),
                  "vg_fp8_gemm_run: cublasLtMatmul");
    VG_GUARD_END("vg_fp8_gemm_run")
}

VG_API vg_status vg_fp8_gemm_plan_tune(vg_fp8_gemm_plan plan, const void* a, const float* a_scale, const void* w,
                                       const float* w_scale, const void* bias, void* out, void* workspace,
                                       size_t workspace_bytes, int32_t max_candidates, int32_t iterations, void* stream,
                                       float* best_ms, int32_t* tried) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gemm_plan_tune";
    vg::clear_error();
    VG_TRY(check_run_args(plan, a, a_scale, w, w_scale, bias, out, workspace, workspace_bytes, fn));
    VG_TRY(set_pointers(plan, a_scale, w_scale, bias, "vg_fp8_gemm_plan_tune: set the scale and bias pointers"));
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    return vg::tune_matmul(
        *plan, plan->ctx->lt,
        [&](const cublasLtMatmulAlgo_t* algo, size_t ws) { return launch(plan, algo, a, w, out, workspace, ws, st, fn); },
        workspace_bytes, max_candidates, iterations, st, best_ms, tried, fn);
    VG_GUARD_END("vg_fp8_gemm_plan_tune")
}

VG_API vg_status vg_fp8_gemm_plan_get_algo(vg_fp8_gemm_plan plan, void* blob, size_t blob_bytes) {
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_fp8_gemm_plan_get_algo: plan and blob must not be NULL");
    return vg::get_matmul_algo(*plan, blob, blob_bytes, "vg_fp8_gemm_plan_get_algo");
}

VG_API vg_status vg_fp8_gemm_plan_set_algo(vg_fp8_gemm_plan plan, const void* blob, size_t blob_bytes) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_fp8_gemm_plan_set_algo: plan and blob must not be NULL");
    return vg::set_matmul_algo(*plan, plan->ctx->lt, blob, blob_bytes, "vg_fp8_gemm_plan_set_algo");
    VG_GUARD_END("vg_fp8_gemm_plan_set_algo")
}

}  // extern "C"
