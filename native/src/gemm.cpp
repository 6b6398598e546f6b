// GEMM through cuBLASLt. Row-major out[M, N] = a[M, K] · op(w) maps to column-major
// D[N, M] = op(W) · A, i.e. cuBLAS m = N, n = M, k = K, with A_cublas = w and B_cublas = a.
#include "internal.h"

#include <new>

namespace {

constexpr size_t kDefaultMaxWorkspace = 32u << 20;
constexpr uint32_t kMinAlignment = 16;

cudaDataType_t cuda_type(vg_dtype t) {
    switch (t) {
        case VG_DTYPE_FP32: return CUDA_R_32F;
        case VG_DTYPE_BF16: return CUDA_R_16BF;
        case VG_DTYPE_FP16: return CUDA_R_16F;
        default: return CUDA_R_32F;
    }
}

size_t dtype_bytes(vg_dtype t) { return t == VG_DTYPE_FP32 ? 4 : 2; }

}  // namespace

struct vg_gemm_plan_t : vg::LtMatmul {
    vg_context ctx = nullptr;
    vg_gemm_desc desc{};
    bool has_bias = false;
};

namespace {

vg_status validate(const vg_gemm_desc* d, const char* fn) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!d) return bad("desc is NULL");
    if (d->struct_size != sizeof(vg_gemm_desc))
        return bad("desc->struct_size is " + std::to_string(d->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_gemm_desc)));
    if (d->m <= 0 || d->n <= 0 || d->k <= 0)
        return bad("m, n, k must be positive (got " + std::to_string(d->m) + ", " + std::to_string(d->n) + ", " +
                   std::to_string(d->k) + ")");
    if (d->a_dtype != VG_DTYPE_BF16 || d->w_dtype != VG_DTYPE_BF16)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": a_dtype/w_dtype must be bf16 (got " +
                                                    vg::dtype_name(d->a_dtype) + "/" + vg::dtype_name(d->w_dtype) + ")");
    if (d->out_dtype != VG_DTYPE_BF16 && d->out_dtype != VG_DTYPE_FP32)
        return bad(std::string("out_dtype must be bf16 or fp32 (got ") + vg::dtype_name(d->out_dtype) + ")");
    if (d->w_layout != VG_WEIGHT_NK && d->w_layout != VG_WEIGHT_KN) return bad("w_layout is not a vg_weight_layout");
    if (d->epilogue < VG_EPILOGUE_NONE || d->epilogue > VG_EPILOGUE_BIAS_GELU_TANH)
        return bad("epilogue is not a vg_epilogue");
    bool bias = d->epilogue == VG_EPILOGUE_BIAS || d->epilogue == VG_EPILOGUE_BIAS_GELU_TANH;
    if (bias && d->bias_dtype != VG_DTYPE_BF16 && d->bias_dtype != VG_DTYPE_FP32)
        return bad("bias_dtype must be bf16 or fp32");
    int64_t lda = d->lda ? d->lda : d->k;
    int64_t ldw = d->ldw ? d->ldw : (d->w_layout == VG_WEIGHT_NK ? d->k : d->n);
    int64_t ldc = d->ldc ? d->ldc : d->n;
    if (lda < d->k) return bad("lda " + std::to_string(lda) + " < k " + std::to_string(d->k));
    if (ldw < (d->w_layout == VG_WEIGHT_NK ? d->k : d->n)) return bad("ldw is smaller than a weight row");
    if (ldc < d->n) return bad("ldc " + std::to_string(ldc) + " < n " + std::to_string(d->n));
    if ((lda * 2) % kMinAlignment || (ldw * 2) % kMinAlignment || (ldc * dtype_bytes(d->out_dtype)) % kMinAlignment)
        return bad("row strides must be multiples of 16 bytes (lda " + std::to_string(lda) + ", ldw " +
                   std::to_string(ldw) + ", ldc " + std::to_string(ldc) + ")");
    return VG_OK;
}

vg_status set_pointers(vg_gemm_plan p, const void* bias, const char* fn) {
    if (!p->has_bias) return VG_OK;
    return vg::cublas_check(
        cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)), fn);
}

vg_status check_args(vg_gemm_plan p, const void* a, const void* w, const void* bias, const void* c, void* out,
                     void* workspace, size_t workspace_bytes, const char* fn) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!p) return bad("plan is NULL");
    if (!a || !w || !out) return bad("a, w and out must not be NULL");
    if (p->has_bias != (bias != nullptr))
        return bad(p->has_bias ? "the epilogue needs a bias but bias is NULL" : "bias given but the epilogue has none");
    if ((p->desc.has_c != 0) != (c != nullptr))
        return bad(p->desc.has_c ? "desc.has_c is set but c is NULL" : "c given but desc.has_c is 0");
    for (const void* ptr : {a, w, static_cast<const void*>(out), bias, c})
        if (ptr && !vg::aligned16(ptr)) return bad("every tensor pointer must be 16-byte aligned");
    if (workspace_bytes < p->algo_workspace)
        return bad("workspace_bytes " + std::to_string(workspace_bytes) + " < the plan's " +
                   std::to_string(p->algo_workspace));
    if (p->algo_workspace && !workspace) return bad("workspace is NULL but the algorithm needs one");
    return VG_OK;
}

vg_status launch(vg_gemm_plan p, const cublasLtMatmulAlgo_t* algo, const void* a, const void* w, const void* c,
                 void* out, void* workspace, size_t workspace_bytes, cudaStream_t stream, const char* fn) {
    float alpha = p->desc.alpha, beta = p->desc.has_c ? p->desc.beta : 0.0f;
    const void* cptr = p->desc.has_c ? c : out;
    return vg::cublas_check(cublasLtMatmul(p->ctx->lt, p->op, &alpha, w, p->la, a, p->lb, &beta, cptr, p->lc, out,
                                           p->lc, algo, workspace, workspace_bytes, stream),
                            fn);
}

}  // namespace

extern "C" {

VG_API vg_status vg_gemm_plan_create(vg_context ctx, const vg_gemm_desc* desc, vg_gemm_plan* out) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_gemm_plan_create";
    vg::clear_error();
    if (!ctx || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": ctx and out must not be NULL");
    *out = nullptr;
    VG_TRY(validate(desc, fn));
    auto* p = new vg_gemm_plan_t();
    p->ctx = ctx;
    p->desc = *desc;
    auto& d = p->desc;
    if (!d.lda) d.lda = d.k;
    if (!d.ldw) d.ldw = d.w_layout == VG_WEIGHT_NK ? d.k : d.n;
    if (!d.ldc) d.ldc = d.n;
    p->has_bias = d.epilogue == VG_EPILOGUE_BIAS || d.epilogue == VG_EPILOGUE_BIAS_GELU_TANH;

    auto cleanup = [&](vg_status s) { delete p; return s; };
    cublasOperation_t ta = d.w_layout == VG_WEIGHT_NK ? CUBLAS_OP_T : CUBLAS_OP_N, tb = CUBLAS_OP_N;
    vg_status s = vg::cublas_check(cublasLtMatmulDescCreate(&p->op, CUBLAS_COMPUTE_32F, CUDA_R_32F), fn);
    if (s != VG_OK) return cleanup(s);
    s = vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta)), fn);
    if (s == VG_OK)
        s = vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb)), fn);
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    switch (d.epilogue) {
        case VG_EPILOGUE_BIAS: epi = CUBLASLT_EPILOGUE_BIAS; break;
        case VG_EPILOGUE_GELU_TANH: epi = CUBLASLT_EPILOGUE_GELU; break;
        case VG_EPILOGUE_BIAS_GELU_TANH: epi = CUBLASLT_EPILOGUE_GELU_BIAS; break;
        default: break;
    }
    if (s == VG_OK)
        s = vg::cublas_check(cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi)), fn);
    if (s == VG_OK && p->has_bias) {
        cudaDataType_t bt = cuda_type(d.bias_dtype);
        s = vg::cublas_check(
            cublasLtMatmulDescSetAttribute(p->op, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bt, sizeof(bt)), fn);
    }
    // Column-major views: A_cublas = w, B_cublas = a, C/D = out.
    if (s == VG_OK) {
        uint64_t rows = d.w_layout == VG_WEIGHT_NK ? d.k : d.n, cols = d.w_layout == VG_WEIGHT_NK ? d.n : d.k;
        s = vg::cublas_check(cublasLtMatrixLayoutCreate(&p->la, CUDA_R_16BF, rows, cols, d.ldw), fn);
    }
    if (s == VG_OK) s = vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lb, CUDA_R_16BF, d.k, d.m, d.lda), fn);
    if (s == VG_OK)
        s = vg::cublas_check(cublasLtMatrixLayoutCreate(&p->lc, cuda_type(d.out_dtype), d.n, d.m, d.ldc), fn);
    if (s == VG_OK) s = vg::cublas_check(cublasLtMatmulPreferenceCreate(&p->pref), fn);
    uint32_t al = kMinAlignment;
    for (auto attr : {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
                      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES})
        if (s == VG_OK) s = vg::cublas_check(cublasLtMatmulPreferenceSetAttribute(p->pref, attr, &al, sizeof(al)), fn);
    size_t maxws = kDefaultMaxWorkspace;
    if (s == VG_OK)
        s = vg::cublas_check(cublasLtMatmulPreferenceSetAttribute(p->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                                  &maxws, sizeof(maxws)),
                             fn);
    if (s != VG_OK) return cleanup(s);
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    s = vg::cublas_check(cublasLtMatmulAlgoGetHeuristic(ctx->lt, p->op, p->la, p->lb, p->lc, p->lc, p->pref, 1, &r, &found),
                         "vg_gemm_plan_create: cublasLtMatmulAlgoGetHeuristic");
    if (s != VG_OK) return cleanup(s);
    if (found < 1)
        return cleanup(vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": cuBLASLt has no algorithm for this GEMM"));
    p->algo = r.algo;
    p->algo_workspace = r.workspaceSize;
    *out = p;
    return VG_OK;
    VG_GUARD_END("vg_gemm_plan_create")
}

VG_API vg_status vg_gemm_plan_destroy(vg_gemm_plan plan) {
    VG_GUARD_BEGIN
    vg::clear_error();
    delete plan;
    return VG_OK;
    VG_GUARD_END("vg_gemm_plan_destroy")
}

VG_API vg_status vg_gemm_plan_workspace_size(vg_gemm_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gemm_plan_workspace_size: plan and bytes must not be NULL");
    *bytes = plan->algo_workspace;
    return VG_OK;
}

VG_API vg_status vg_gemm_run(vg_gemm_plan plan, const void* a, const void* w, const void* bias, const void* c,
                             void* out, void* workspace, size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_gemm_run";
    vg::clear_error();
    VG_TRY(check_args(plan, a, w, bias, c, out, workspace, workspace_bytes, fn));
    VG_TRY(set_pointers(plan, bias, "vg_gemm_run: set bias pointer"));
    return launch(plan, &plan->algo, a, w, c, out, workspace, plan->algo_workspace, static_cast<cudaStream_t>(stream),
                  "vg_gemm_run: cublasLtMatmul");
    VG_GUARD_END("vg_gemm_run")
}

VG_API vg_status vg_gemm_plan_tune(vg_gemm_plan plan, const void* a, const void* w, const void* bias, const void* c,
                                   void* out, void* workspace, size_t workspace_bytes, int32_t max_candidates,
                                   int32_t iterations, void* stream, float* best_ms, int32_t* tried) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_gemm_plan_tune";
    vg::clear_error();
    VG_TRY(check_args(plan, a, w, bias, c, out, workspace, workspace_bytes, fn));
    VG_TRY(set_pointers(plan, bias, "vg_gemm_plan_tune: set bias pointer"));
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    return vg::tune_matmul(
        *plan, plan->ctx->lt,
        [&](const cublasLtMatmulAlgo_t* algo, size_t ws) { return launch(plan, algo, a, w, c, out, workspace, ws, st, fn); },
        workspace_bytes, max_candidates, iterations, st, best_ms, tried, fn);
    VG_GUARD_END("vg_gemm_plan_tune")
}

VG_API vg_status vg_gemm_plan_get_algo(vg_gemm_plan plan, void* blob, size_t blob_bytes) {
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gemm_plan_get_algo: plan and blob must not be NULL");
    return vg::get_matmul_algo(*plan, blob, blob_bytes, "vg_gemm_plan_get_algo");
}

VG_API vg_status vg_gemm_plan_set_algo(vg_gemm_plan plan, const void* blob, size_t blob_bytes) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gemm_plan_set_algo: plan and blob must not be NULL");
    return vg::set_matmul_algo(*plan, plan->ctx->lt, blob, blob_bytes, "vg_gemm_plan_set_algo");
    VG_GUARD_END("vg_gemm_plan_set_algo")
}

}  // extern "C"
