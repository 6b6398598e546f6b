// Which scaled FP8 descriptors does this GPU's cuBLASLt accept, and how fast are they? Asks
// cublasLtMatmulAlgoGetHeuristic for the TN FP8 GEMM of a Wan-sized linear (cuBLAS m = 1536 outputs, n = 4096 tokens,
// k = 1536) under each combination of A/B scale modes (per tensor, per row / column OUTER_VEC, 1x128 VEC128,
// 128x128 BLK128x128), with the scale pointers unset and set, and runs the ones it accepts once. Then times each
// accepted combination (scale pointers set, fast accumulation where the mode allows it) at Wan 2.1 1.3B's FFN down
// projection under CFG (m = 1536, n = 65520 tokens, k = 8960). One line per combination: the device run's record of
// which FP8 scalings the engine can use and what each costs.
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>

namespace {

const char* name(cublasLtMatmulMatrixScale_t m) {
    switch (m) {
        case CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F: return "SCALAR";
        case CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F: return "OUTER_VEC";
        case CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F: return "VEC128";
        case CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F: return "BLK128x128";
        default: return "?";
    }
}

struct Buffers {
    void *a, *b, *d, *sa, *sb, *ws;
    size_t wsBytes = 32u << 20;
};

// The heuristic's answer for one combination (and, if `ms` is given, the mean time of 20 runs after 3 warm-ups).
void probe(cublasLtHandle_t lt, const Buffers& buf, const cublasLtMatmulMatrixScale_t (&mode)[2], int m, int n, int k,
           bool pointers, float* ms) {
    cublasLtMatmulDesc_t op;
    cublasLtMatmulDescCreate(&op, CUBLAS_COMPUTE_32F, CUDA_R_32F);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof(ta));
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof(tb));
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode[0], sizeof(mode[0]));
    cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode[1], sizeof(mode[1]));
    const bool blocks = mode[0] == CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F || mode[0] == CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
    int8_t fast = blocks ? 0 : 1;
    if (ms) cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_FAST_ACCUM, &fast, sizeof(fast));
    if (pointers) {
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &buf.sa, sizeof(buf.sa));
        cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &buf.sb, sizeof(buf.sb));
    }
    cublasLtMatrixLayout_t la, lb, lc;
    cublasLtMatrixLayoutCreate(&la, CUDA_R_8F_E4M3, k, m, k);
    cublasLtMatrixLayoutCreate(&lb, CUDA_R_8F_E4M3, k, n, k);
    cublasLtMatrixLayoutCreate(&lc, CUDA_R_16BF, m, n, m);
    cublasLtMatmulPreference_t pref;
    cublasLtMatmulPreferenceCreate(&pref);
    cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &buf.wsBytes, sizeof(buf.wsBytes));
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    cublasStatus_t hs = cublasLtMatmulAlgoGetHeuristic(lt, op, la, lb, lc, lc, pref, 1, &r, &found);
    cublasStatus_t rs = CUBLAS_STATUS_NOT_SUPPORTED;
    float mean = 0;
    if (hs == CUBLAS_STATUS_SUCCESS && found > 0) {
        if (!pointers) {
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &buf.sa, sizeof(buf.sa));
            cublasLtMatmulDescSetAttribute(op, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &buf.sb, sizeof(buf.sb));
        }
        float alpha = 1, beta = 0;
        auto run = [&] { return cublasLtMatmul(lt, op, &alpha, buf.a, la, buf.b, lb, &beta, buf.d, lc, buf.d, lc, &r.algo, buf.ws, buf.wsBytes, nullptr); };
        rs = run();
        cudaDeviceSynchronize();
        if (ms && rs == CUBLAS_STATUS_SUCCESS) {
            for (int i = 0; i < 3; i++) run();
            cudaEvent_t e0, e1;
            cudaEventCreate(&e0); cudaEventCreate(&e1);
            cudaEventRecord(e0);
            for (int i = 0; i < 20; i++) run();
            cudaEventRecord(e1);
            cudaEventSynchronize(e1);
            cudaEventElapsedTime(&mean, e0, e1);
            mean /= 20;
            cudaEventDestroy(e0); cudaEventDestroy(e1);
        }
    }
    if (ms) {
        *ms = rs == CUBLAS_STATUS_SUCCESS ? mean : -1;
        if (rs == CUBLAS_STATUS_SUCCESS)
            std::printf("fp8_block_probe: m %d n %d k %d A %-10s B %-10s fast accumulation %d: %.3f ms, %.0f TFLOP/s\n", m, n, k,
                        name(mode[0]), name(mode[1]), fast, mean, 2.0 * m * n * k / mean / 1e9);
        else
            std::printf("fp8_block_probe: m %d n %d k %d A %-10s B %-10s: heuristic %s, run %s\n", m, n, k, name(mode[0]),
                        name(mode[1]), cublasLtGetStatusName(hs), cublasLtGetStatusName(rs));
    } else {
        std::printf("fp8_block_probe: A %-10s B %-10s scale pointers %-13s heuristic %s (%d found)%s%s\n", name(mode[0]), name(mode[1]),
                    pointers ? "set" : "unset", cublasLtGetStatusName(hs), found, found > 0 ? ", run " : "",
                    found > 0 ? cublasLtGetStatusName(rs) : "");
    }
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(lc); cublasLtMatrixLayoutDestroy(lb); cublasLtMatrixLayoutDestroy(la);
    cublasLtMatmulDescDestroy(op);
}

}  // namespace

int main() {
    cublasLtHandle_t lt;
    if (cublasLtCreate(&lt) != CUBLAS_STATUS_SUCCESS) { std::printf("fp8_block_probe: cublasLtCreate failed\n"); return 1; }
    std::printf("fp8_block_probe: cuBLASLt %zu\n", cublasLtGetVersion());
    const int bm = 1536, bn = 65520, bk = 8960;  // the timed shape (the largest buffers)
    Buffers buf;
    cudaMalloc(&buf.a, (size_t)bm * bk); cudaMalloc(&buf.b, (size_t)bn * bk); cudaMalloc(&buf.d, (size_t)bm * bn * 2);
    cudaMalloc(&buf.sa, (size_t)bm * bk * 4); cudaMalloc(&buf.sb, (size_t)bn * bk * 4); cudaMalloc(&buf.ws, buf.wsBytes);
    cudaMemset(buf.a, 0x38, (size_t)bm * bk); cudaMemset(buf.b, 0x38, (size_t)bn * bk);   // 1.0 in e4m3
    cudaMemset(buf.sa, 0, (size_t)bm * bk * 4); cudaMemset(buf.sb, 0, (size_t)bn * bk * 4);
    using S = cublasLtMatmulMatrixScale_t;
    const S sc = CUBLASLT_MATMUL_MATRIX_SCALE_SCALAR_32F, ov = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F,
            v128 = CUBLASLT_MATMUL_MATRIX_SCALE_VEC128_32F, blk = CUBLASLT_MATMUL_MATRIX_SCALE_BLK128x128_32F;
    const S modes[][2] = {{sc, sc}, {ov, ov}, {sc, ov}, {ov, sc}, {blk, v128}, {v128, blk}, {v128, v128}};
    for (auto& mode : modes)
        for (int pointers = 0; pointers < 2; pointers++) probe(lt, buf, mode, 1536, 4096, 1536, pointers, nullptr);
    for (auto& mode : modes) {
        float ms = 0;
        probe(lt, buf, mode, bm, bn, bk, true, &ms);
    }
    cudaFree(buf.a); cudaFree(buf.b); cudaFree(buf.d); cudaFree(buf.sa); cudaFree(buf.sb); cudaFree(buf.ws);
    cublasLtDestroy(lt);
    return 0;
}
