// Which block-scaled FP8 descriptors does this GPU's cuBLASLt accept? Asks cublasLtMatmulAlgoGetHeuristic for the
// TN FP8 GEMM of a Wan-sized linear (cuBLAS m = 1536 outputs, n = 4096 tokens, k = 1536) under each combination of
// A/B scale modes (per tensor, 1x128 VEC128, 128x128 BLK128x128), with the scale pointers unset and set, and runs
// the ones it accepts once. One line per combination: the device run's record of what FP8_BLOCK_SCALES can use.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdio>

namespace {

const char* name(cublasLtMatmulMatrixScale_t m) {
    switch (m) {
        case CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F: return "SCALAR";
        case CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F: return "VEC128";
        case CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F: return "BLK128x128";
        default: return "?";
    }
}

}  // namespace

int main() {
    const int m = 1536, n = 4096, k = 1536;
    cublasLtHandle_t lt;
    if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) { std::printf("fp8_block_probe: cublasLtCreate failed\n"); return 1; }
    std::printf("fp8_block_probe: cuBLASLt %zu\n", cublasLtGetVersion());
    void *a, *b, *d, *sa, *sb, *ws;
    size_t wsBytes = 32u << 20;
    cudaMalloc(&a, (size_t)m * k); cudaMalloc(&b, (size_t)n * k); cudaMalloc(&d, (size_t)m * n * 2);
    cudaMalloc(&sa, (size_t)m * k * 4); cudaMalloc(&sb, (size_t)n * k * 4); cudaMalloc(&ws, wsBytes);
    cudaMemset(a, 0x38, (size_t)m * k); cudaMemset(b, 0x38, (size_t)n * k);   // 1.0 in e4m3
    cudaMemset(sa, 0, (size_t)m * k * 4); cudaMemset(sb, 0, (size_t)n * k * 4);
    const cublasLtMatmulMatrixScale_t modes[][2] = {
        {CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F, CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F},
        {CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F},
        {CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F},
        {CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F},
    };
    for (auto& mode : modes)
        for (int pointers = 0; pointers < 2; pointers++) {
            cublasLtMatmulDesc_t op;
            cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
            cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode[0], sizeof(mode[0]));
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode[1], sizeof(mode[1]));
            if (pointers) {
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof(sa));
                cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof(sb));
            }
            cublasLtMatrixLayout_t la, lb, lc;
            cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, k, m, k);
            cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, k, n, k);
            cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, m, n, m);
            cublasLtMatmulPreference_t pref;
            cublasLtMatmulPreferenceCreate(&pref);
            cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &wsBytes, sizeof(wsBytes));
            cublasLtMatmulHeuristicResult_t r{};
            int found = 0;
            cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &r, &found);
            cublasStatus_t rs = CUBLAS_STATUS_NOT_SUPPORTED;
            if (hs == CUBLAS_STATUS_SUCCESS && found > 0) {
                if (!pointers) {
                    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &sa, sizeof(sa));
                    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &sb, sizeof(sb));
                }
                float alpha = 1, beta = 0;
                rs = cublasLtMatmul(lt, op, &alpha, a, la, b, lb, &beta, d, lc, d, lc, &r.algo, ws, wsBytes, nullptr);
                cudaDeviceSynchronize();
            }
            std::printf("fp8_block_probe: A %-10s B %-10s scale pointers %-13s heuristic %s (%d found)%s%s\n", name(mode[0]), name(mode[1]),
                        pointers ? "set" : "unset", cublasLtGetStatusName(hs), found, found > 0 ? ", run " : "",
                        found > 0 ? cublasLtGetStatusName(rs) : "");
            cublasLtMatmulPreferenceDestroy(pref);
            cublasLtMatrixLayoutDestroy(lc); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(la);
            cublasLtMatmulDescDestroy(op);
        }
    cudaFree(a); cudaFree(b); cudaFree(d); cudaFree(sa); cudaFree(sb); cudaFree(ws);
    cublasLtDestroy(lt);
    return 0;
}
