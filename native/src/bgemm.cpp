// Batched strided matrix products through cuBLASLt for the general attention path (scores = q·kᵀ, out = p·v) and
// weight-free MatMuls. Row-major out[M, N] = a[M, K] · op(b) is column-major outᵀ[N, M] = op(b)ᵀ · aᵀ: cuBLAS m = N,
// n = M, with A_cublas = b and B_cublas = a (as in gemm.cpp). Descriptors are made per call on the host (no device
// allocation, no synchronization: capture-safe).
#include "internal.h"

#include <string>

namespace {

cudaDataType_t cuda_type(vg_dtype t) { return t == VG_DTYPE_BF16 ? CUDA_R_16BF : CUDA_R_32F; }

vg_status layout(cublasLtMatrixLayout_t* l, cudaDataType_t t, int64_t rows, int64_t cols, int64_t ld, int64_t batch, int64_t stride) {
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutCreate(l, t, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld),
                            "vg_bgemm: cublasLtMatrixLayoutCreate"));
    const int32_t count = static_cast<int32_t>(batch);
    VG_TRY(vg::cublas_check(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)),
                            "vg_bgemm: batch count"));
    return vg::cublas_check(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
                            "vg_bgemm: batch stride");
}

}  // namespace

VG_API vg_status vg_bgemm(vg_context ctx, const vg_bgemm_desc* d, const void* a, const void* b, void* out, void* workspace,
                          size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_bgemm: " + m); };
    if (!ctx || !d || !a || !b || !out) return bad("ctx, desc, a, b and out must not be NULL");
    if (d->struct_size != sizeof(vg_bgemm_desc)) return bad("desc->struct_size is " + std::to_string(d->struct_size) + ", expected " + std::to_string(sizeof(vg_bgemm_desc)));
    if (d->batch <= 0 || d->m <= 0 || d->n <= 0 || d->k <= 0) return bad("batch, m, n, k must be positive");
    if (d->batch > INT32_MAX) return bad("batch exceeds cuBLASLt's int32 count");
    auto ok = [](vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; };
    if (!ok(d->in_dtype) || !ok(d->out_dtype)) return bad("dtypes must be FP32 or BF16");
    const int64_t lda = d->lda ? d->lda : d->k, ldc = d->ldc ? d->ldc : d->n;
    const int64_t ldb = d->ldb ? d->ldb : (d->trans_b ? d->k : d->n);
    vg::LtMatmul lt;  // its handles, destroyed on return
    const cudaDataType_t tin = cuda_type(d->in_dtype), tout = cuda_type(d->out_dtype);
    VG_TRY(vg::cublas_check(cublasLtMatmulDescCreate(&lt.op, CUBLAS_COMPUTE_32F, CUDA_R_32F), "vg_bgemm: cublasLtMatmulDescCreate"));
    const cublasOperation_t opA = d->trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, opB = CUBLAS_OP_N;
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(lt.op, CUBLASLT_MATMUL_DESC_TRANSA, &opA, sizeof(opA)), "vg_bgemm: transa"));
    VG_TRY(vg::cublas_check(cublasLtMatmulDescSetAttribute(lt.op, CUBLASLT_MATMUL_DESC_TRANSB, &opB, sizeof(opB)), "vg_bgemm: transb"));
    // A_cublas = b: stored column-major as [N, K] (trans_b 0, ld ldb) or [K, N] (trans_b 1)
    VG_TRY(layout(&lt.la, tin, d->trans_b ? d->k : d->n, d->trans_b ? d->n : d->k, ldb, d->batch, d->stride_b));
    VG_TRY(layout(&lt.lb, tin, d->k, d->m, lda, d->batch, d->stride_a));   // B_cublas = a: [K, M]
    VG_TRY(layout(&lt.lc, tout, d->n, d->m, ldc, d->batch, d->stride_c)); // D: [N, M]
    VG_TRY(vg::cublas_check(cublasLtMatmulPreferenceCreate(&lt.pref), "vg_bgemm: preference"));
    const uint64_t ws = workspace ? workspace_bytes : 0;
    VG_TRY(vg::cublas_check(cublasLtMatmulPreferenceSetAttribute(lt.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)),
                            "vg_bgemm: workspace preference"));
    cublasLtMatmulHeuristicResult_t result{};
    int found = 0;
    VG_TRY(vg::cublas_check(cublasLtMatmulAlgoGetHeuristic(ctx->lt, lt.op, lt.la, lt.lb, lt.lc, lt.lc, lt.pref, 1, &result, &found),
                            "vg_bgemm: cublasLtMatmulAlgoGetHeuristic"));
    if (found == 0) return vg::fail(VG_ERROR_NOT_SUPPORTED, "vg_bgemm: cuBLASLt has no algorithm for this product");
    const float alpha = d->alpha, beta = 0.0f;
    return vg::cublas_check(cublasLtMatmul(ctx->lt, lt.op, &alpha, b, lt.la, a, lt.lb, &beta, out, lt.lc, out, lt.lc, &result.algo,
                                           workspace, ws, static_cast<cudaStream_t>(stream)),
                            "vg_bgemm: cublasLtMatmul");
    VG_GUARD_END("vg_bgemm")
}
