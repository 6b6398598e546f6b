// cuBLASLt algorithm choice shared by the bf16 and FP8 GEMM plans: timing the heuristic's candidates on real buffers
// (vg_gemm_plan_tune, vg_fp8_gemm_plan_tune) and the algorithm blobs the engine cache keeps (the plans' get_algo and
// set_algo).
#include "internal.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

constexpr uint32_t kBlobMagic = 0x41474756u;  // "VGGA"
constexpr uint32_t kBlobVersion = 1;

struct AlgoBlob {
    uint32_t magic;
    uint32_t version;
    uint64_t cublaslt_version;
    uint64_t workspace;
    cublasLtMatmulAlgo_t algo;  // 64 bytes
    uint8_t reserved[VG_GEMM_ALGO_BLOB_BYTES - 24 - sizeof(cublasLtMatmulAlgo_t)];
};
static_assert(sizeof(AlgoBlob) == VG_GEMM_ALGO_BLOB_BYTES, "algo blob layout");

}  // namespace

namespace vg {

vg_status tune_matmul(LtMatmul& m, cublasLtHandle_t lt, const MatmulLaunch& launch, size_t workspace_bytes,
                      int32_t max_candidates, int32_t iterations, cudaStream_t st, float* best_ms, int32_t* tried,
                      const char* fn) {
    if (max_candidates < 1 || max_candidates > 64 || iterations < 1 || iterations > 1000)
        return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": max_candidates must be in 1..64 and iterations in 1..1000");
    size_t maxws = workspace_bytes;
    VG_TRY(cublas_check(cublasLtMatmulPreferenceSetAttribute(m.pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &maxws,
                                                             sizeof(maxws)),
                        fn));
    std::vector<cublasLtMatmulHeuristicResult_t> rs(max_candidates);
    int found = 0;
    VG_TRY(cublas_check(cublasLtMatmulAlgoGetHeuristic(lt, m.op, m.la, m.lb, m.lc, m.lc, m.pref, max_candidates, rs.data(), &found),
                        (std::string(fn) + ": cublasLtMatmulAlgoGetHeuristic").c_str()));
    if (found < 1) return fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": cuBLASLt has no algorithm");
    std::vector<cudaEvent_t> ev(iterations + 1);
    for (auto& e : ev) VG_TRY(cuda_check(cudaEventCreate(&e), fn));
    auto destroy = [&]() { for (auto& e : ev) if (e) cudaEventDestroy(e); };
    float best = -1;
    int n_timed = 0, best_i = -1;
    for (int i = 0; i < found; ++i) {
        if (rs[i].state != CUBLAS_STATUS_SUCCESS || rs[i].workspaceSize > workspace_bytes) continue;
        // One warm-up; an algorithm that fails to launch is skipped, not fatal.
        if (launch(&rs[i].algo, rs[i].workspaceSize) != VG_OK) continue;
        vg_status s = cuda_check(cudaEventRecord(ev[0], st), fn);
        bool ok = true;
        for (int it = 0; it < iterations && s == VG_OK; ++it) {
            if (launch(&rs[i].algo, rs[i].workspaceSize) != VG_OK) {
                ok = false;
                break;
            }
            s = cuda_check(cudaEventRecord(ev[it + 1], st), fn);
        }
        if (s == VG_OK) s = cuda_check(cudaStreamSynchronize(st), fn);
        if (s != VG_OK) {
            destroy();
            return s;
        }
        if (!ok) continue;
        std::vector<float> t(iterations);
        for (int it = 0; it < iterations; ++it) cudaEventElapsedTime(&t[it], ev[it], ev[it + 1]);
        std::sort(t.begin(), t.end());
        const float med = t[iterations / 2];
        ++n_timed;
        if (best < 0 || med < best) {
            best = med;
            best_i = i;
        }
    }
    destroy();
    clear_error();
    if (best_i < 0) return fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": no candidate algorithm ran");
    m.algo = rs[best_i].algo;
    m.algo_workspace = rs[best_i].workspaceSize;
    if (best_ms) *best_ms = best;
    if (tried) *tried = n_timed;
    return VG_OK;
}

vg_status get_matmul_algo(const LtMatmul& m, void* blob, size_t blob_bytes, const char* fn) {
    if (!blob) return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": plan and blob must not be NULL");
    if (blob_bytes < VG_GEMM_ALGO_BLOB_BYTES)
        return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": blob_bytes must be >= VG_GEMM_ALGO_BLOB_BYTES");
    AlgoBlob b{};
    b.magic = kBlobMagic;
    b.version = kBlobVersion;
    b.cublaslt_version = cublasLtGetVersion();
    b.workspace = m.algo_workspace;
    b.algo = m.algo;
    std::memcpy(blob, &b, sizeof(b));
    return VG_OK;
}

vg_status set_matmul_algo(LtMatmul& m, cublasLtHandle_t lt, const void* blob, size_t blob_bytes, const char* fn) {
    if (!blob) return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": plan and blob must not be NULL");
    if (blob_bytes < VG_GEMM_ALGO_BLOB_BYTES)
        return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": blob_bytes must be >= VG_GEMM_ALGO_BLOB_BYTES");
    AlgoBlob b;
    std::memcpy(&b, blob, sizeof(b));
    if (b.magic != kBlobMagic || b.version != kBlobVersion)
        return fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": not a VisualGen GEMM algorithm blob");
    if (b.cublaslt_version != cublasLtGetVersion())
        return fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": blob was tuned with cuBLASLt " + std::to_string(b.cublaslt_version) +
                                                ", this is " + std::to_string(cublasLtGetVersion()) + "; re-tune");
    cublasLtMatmulHeuristicResult_t r{};
    VG_TRY(cublas_check(cublasLtMatmulAlgoCheck(lt, m.op, m.la, m.lb, m.lc, m.lc, &b.algo, &r),
                        (std::string(fn) + ": cublasLtMatmulAlgoCheck (algorithm does not fit this GEMM; re-tune)").c_str()));
    m.algo = b.algo;
    m.algo_workspace = r.workspaceSize;
    return VG_OK;
}

}  // namespace vg
