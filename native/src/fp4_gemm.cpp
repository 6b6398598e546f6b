// NVFP4 GEMM on FP4 tensor cores (Blackwell: compute capability 10.0 or newer) through cuBLASLt:
// out[M, N] (bf16) = (a[M, K] · wᵀ) with both operands E2M1, each 16 inputs of a row scaled by an e4m3 block scale
// (cuBLASLt's VEC16_UE4M3 mode, scales in its tiled layout: vg_quantize_nvfp4, vg_swizzle_nvfp4_scales) and the
// product by a_scale_2 · w_scale_2 (alpha, computed on the device: pointer mode device, capture-safe). The layouts
// are those of fp8_gemm.cpp: row-major a [M, K] and w [N, K] are, column-major, B and A with op(A) = Aᵀ ("TN").
//
// Hopper (the machines this project measures on) has no FP4 tensor cores: plan creation there fails with
// VG_ERROR_NOT_SUPPORTED before cuBLASLt is asked, and the engine runs NVFP4 weight-only (vg_dequantize_nvfp4 + a
// bf16 GEMM). This path is compiled and its refusal checked on Hopper; it has not run on a Blackwell GPU.
#include "internal.h"

#include <string>

// CUDA_R_4F_E2M1 and the VEC16_UE4M3 scale mode: CUDA 12.8 or newer.
#if defined(CUDART_VERSION) && CUDART_VERSION >= 12080
#define VG_FP4_GEMM 1
#else
#define VG_FP4_GEMM 0
#endif

struct vg_nvfp4_gemm_plan_t : vg::LtMatmul {
    vg_context ctx = nullptr;
    vg_nvfp4_gemm_desc desc{};
};

namespace {

constexpr size_t kMaxWorkspace = 32u << 20;

vg_status validate(const vg_nvfp4_gemm_desc* d, const char* fn) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!d) return bad("desc is NULL");
    if (d->struct_size != sizeof(vg_nvfp4_gemm_desc))
        return bad("desc->struct_size is " + std::to_string(d->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_nvfp4_gemm_desc)));
    if (d->m <= 0 || d->n <= 0 || d->k <= 0) return bad("m, n, k must be positive");
    // 16-byte rows of packed codes (32 inputs) and whole 4-block scale tiles along K (64 inputs); N bf16 outputs per row
    if (d->k % 64 || d->n % 16)
        return bad("k must be a multiple of 64 and n of 16 (got k " + std::to_string(d->k) + ", n " + std::to_string(d->n) + ")");
    return VG_OK;
}

// Why this device cannot run FP4 tensor-core GEMMs, or empty when it can.
std::string unsupported(int device) {
    int major = 0, minor = 0;
    if (!vg::compute_capability(device, &major, &minor)) {
        return "the device's compute capability could not be read";
    }
    if (major < 10)
        return "FP4 tensor cores need compute capability 10.0 or newer (Blackwell); this device is " + std::to_string(major) +
               "." + std::to_string(minor) + ", where NVFP4 runs weight-only (vg_dequantize_nvfp4 and a bf16 GEMM)";
#if !VG_FP4_GEMM
    return "this library was built with a CUDA toolkit older than 12.8 (no CUDA_R_4F_E2M1 in cuBLASLt)";
#else
    return {};
#endif
}

#if VG_FP4_GEMM
vg_status create(vg_nvfp4_gemm_plan p, const char* fn) {
    const auto& d = p->desc;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    VG_TRY(vg::cublas_check(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), fn));
    cublasLtMatmulMatrixScale_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_VEC16_UE4M3;
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode, sizeof(mode)), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode, sizeof(mode)), fn));
    cublasLtPointerMode_t pm = CUBLASLT_POINTER_MODE_DEVICE;  // alpha = a_scale_2 · w_scale_2 lives on the device
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pm, sizeof(pm)), fn));
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_4F_E2M1, d.k, d.n, d.k), fn));
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_4F_E2M1, d.k, d.m, d.k), fn));
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lc, CUDA_R_16BF, d.n, d.m, d.n), fn));
    VG_TRY(vg::cublas_check(cublasLtMatmulPreferenceCreate(&p->pref), fn));
    size_t maxws = kMaxWorkspace;
    VG_TRY(vg::cublas_check(
        cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxws, sizeof(maxws)), fn));
    // the heuristic wants consistent scale pointers (see fp8_gemm.cpp): a placeholder for the query, the real ones per run
    void* placeholder = nullptr;
    VG_TRY(vg::cuda_check(cudaMalloc(&placeholder, 512), fn));
    cublasStatus_t st = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &placeholder, sizeof(placeholder));
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &placeholder, sizeof(placeholder));
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    if (st == CUBLAS_STATUS_SUCCESS)
        st = cublasLtMatmulAlgoGetHeuristic(p->ctx->lt, p->op, p->la, p->lb, p->lc, p->lc, p->pref, 1, &r, &found);
    cudaFree(placeholder);
    VG_TRY(vg::cublas_check(st, "vg_nvfp4_gemm_plan_create: cublasLtMatmulAlgoGetHeuristic"));
    if (found < 1)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": cuBLASLt has no NVFP4 algorithm for m " + std::to_string(d.m) +
                                                    ", n " + std::to_string(d.n) + ", k " + std::to_string(d.k) + " on this GPU");
    p->algo = r.algo;
    p->algo_workspace = r.workspaceSize;
    return VG_OK;
}
#endif

}  // namespace

extern "C" {

VG_API vg_status vg_nvfp4_gemm_plan_create(vg_context ctx, const vg_nvfp4_gemm_desc* desc, vg_nvfp4_gemm_plan* out) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_nvfp4_gemm_plan_create";
    vg::clear_error();
    if (!ctx || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": ctx and out must not be NULL");
    *out = nullptr;
    VG_TRY(validate(desc, fn));
    const std::string why = unsupported(ctx->device);
    if (!why.empty()) return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": " + why);
#if VG_FP4_GEMM
    auto* p = new vg_nvfp4_gemm_plan_t();
    p->ctx = ctx;
    p->desc = *desc;
    vg_status s = create(p, fn);
    if (s != VG_OK) {
        delete p;
        return s;
    }
    *out = p;
    return VG_OK;
#else
    return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": no FP4 GEMM in this build");
#endif
    VG_GUARD_END("vg_nvfp4_gemm_plan_create")
}

VG_API vg_status vg_nvfp4_gemm_plan_destroy(vg_nvfp4_gemm_plan plan) {
    VG_GUARD_BEGIN
    vg::clear_error();
    delete plan;
    return VG_OK;
    VG_GUARD_END("vg_nvfp4_gemm_plan_destroy")
}

VG_API vg_status vg_nvfp4_gemm_plan_workspace_size(vg_nvfp4_gemm_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_nvfp4_gemm_plan_workspace_size: plan and bytes must not be NULL");
    *bytes = plan->algo_workspace;
    return VG_OK;
}

VG_API vg_status vg_nvfp4_gemm_run(vg_nvfp4_gemm_plan plan, const void* a, const void* a_scales, const float* a_scale_2,
                                   const void* w, const void* w_scales, const float* w_scale_2, float* alpha_beta, void* out,
                                   void* workspace, size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_nvfp4_gemm_run";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!plan) return bad("plan is NULL");
    if (!a || !a_scales || !a_scale_2 || !w || !w_scales || !w_scale_2 || !alpha_beta || !out)
        return bad("a, a_scales, a_scale_2, w, w_scales, w_scale_2, alpha_beta and out must not be NULL");
    for (const void* ptr : {a, w, a_scales, w_scales, static_cast<const void*>(out), static_cast<const void*>(alpha_beta)})
        if (!vg::aligned16(ptr)) return bad("a, w, their scales, alpha_beta and out must be 16-byte aligned");
    if (workspace_bytes < plan->algo_workspace)
        return bad("workspace_bytes " + std::to_string(workspace_bytes) + " < the plan's " + std::to_string(plan->algo_workspace));
    if (plan->algo_workspace && !workspace) return bad("workspace is NULL but the algorithm needs one");
#if VG_FP4_GEMM
    auto s = static_cast<cudaStream_t>(stream);
    VG_TRY(vg::nvfp4_alpha(a_scale_2, w_scale_2, alpha_beta, s));
    // A_cublas = w, B_cublas = a (see the top of fp8_gemm.cpp)
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &w_scales, sizeof(w_scales)),
                            "vg_nvfp4_gemm_run: set A scale pointer"));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(plan->op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &a_scales, sizeof(a_scales)),
                            "vg_nvfp4_gemm_run: set B scale pointer"));
    return vg::cublas_check(cublasLtMatmul(plan->ctx->lt, plan->op, alpha_beta, w, plan->la, a, plan->lb, alpha_beta + 1, out,
                                           plan->lc, out, plan->lc, &plan->algo, workspace, plan->algo_workspace, s),
                            "vg_nvfp4_gemm_run: cublasLtMatmul");
#else
    (void)stream;
    return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": no FP4 GEMM in this build");
#endif
    VG_GUARD_END("vg_nvfp4_gemm_run")
}

}  // extern "C"
