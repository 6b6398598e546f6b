// Internal helpers shared by the library's translation units. Nothing here crosses the C ABI.
#pragma once

#include <cuda_runtime.h>
#include <cublasLt.h>
#include <cudnn.h>

#include <cstdint>
#include <exception>
#include <functional>
#include <new>
#include <string>

#include "visualgen_native.h"

struct vg_context_t {
    int device = 0;
    int sm_count = 0;
    cublasLtHandle_t lt = nullptr;
    cudnnHandle_t cudnn = nullptr;
};

namespace vg {

// A cuBLASLt matmul as the GEMM plans hold it (gemm.cpp, fp8_gemm.cpp, fp4_gemm.cpp): the operation descriptor, the
// layouts of A, B and C/D, the preference and the chosen algorithm; the handles are destroyed with it.
struct LtMatmul {
    cublasLtMatmulDesc_t op = nullptr;
    cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
    cublasLtMatmulPreference_t pref = nullptr;
    cublasLtMatmulAlgo_t algo{};
    size_t algo_workspace = 0;

    LtMatmul() = default;
    LtMatmul(const LtMatmul&) = delete;
    LtMatmul& operator=(const LtMatmul&) = delete;
    ~LtMatmul() {
        if (pref) cublasLtMatmulPreferenceDestroy(pref);
        if (lc) cublasLtMatrixLayoutDestroy(lc);
        if (lb) cublasLtMatrixLayoutDestroy(lb);
        if (la) cublasLtMatrixLayoutDestroy(la);
        if (op) cublasLtMatmulDescDestroy(op);
    }
};

// Records the message for vg_last_error() and returns the status.
vg_status fail(vg_status status, const std::string& message);
void clear_error();

// Checks a CUDA runtime result; on failure records "<where>: <cuda error name>: <string>".
vg_status cuda_check(cudaError_t result, const char* where);
// Checks the last kernel launch (cudaGetLastError).
vg_status launch_check(const char* kernel);
vg_status cublas_check(cublasStatus_t result, const char* where);
vg_status cudnn_check(cudnnStatus_t result, const char* where);

// One cublasLtMatmul of a plan (its pointers set) with this algorithm and workspace size (lt_algo.cpp's tuner calls it).
using MatmulLaunch = std::function<vg_status(const cublasLtMatmulAlgo_t* algo, size_t workspace_bytes)>;
// Times up to max_candidates of cuBLASLt's heuristic algorithms for m (each `iterations` launches after one warm-up,
// median by CUDA events on st; candidates needing more than workspace_bytes skipped) and keeps the fastest in m.
// Synchronizes st.
vg_status tune_matmul(LtMatmul& m, cublasLtHandle_t lt, const MatmulLaunch& launch, size_t workspace_bytes,
                      int32_t max_candidates, int32_t iterations, cudaStream_t st, float* best_ms, int32_t* tried,
                      const char* fn);
// m's algorithm as a VG_GEMM_ALGO_BLOB_BYTES blob (with the cuBLASLt version), and back (checked against m's descriptor).
vg_status get_matmul_algo(const LtMatmul& m, void* blob, size_t blob_bytes, const char* fn);
vg_status set_matmul_algo(LtMatmul& m, cublasLtHandle_t lt, const void* blob, size_t blob_bytes, const char* fn);

const char* dtype_name(vg_dtype t);

inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// A grid of 256-thread blocks for `items` grid-stride items: enough blocks for one item a thread, at most 8 per SM of
// the current device (the kernels' loops stride over the rest).
int stride_grid(int64_t items);

// The device's compute capability; false (and no CUDA error left behind) when it cannot be read.
bool compute_capability(int device, int* major, int* minor);

// alpha_beta[0] = *a_scale_2 * *w_scale_2, alpha_beta[1] = 0, enqueued on `stream` (nvfp4.cu): the FP4 GEMM's
// device-side alpha and beta (fp4_gemm.cpp).
vg_status nvfp4_alpha(const float* a_scale_2, const float* w_scale_2, float* alpha_beta, cudaStream_t stream);

// y[row, i] += bias[row % channels] for rows of `inner` contiguous values (encoder_kernels.cu): a convolution's bias.
vg_status add_channel_bias(void* y, vg_dtype y_dtype, const void* bias, vg_dtype bias_dtype, int64_t rows, int64_t channels,
                           int64_t inner, cudaStream_t s);

}  // namespace vg

#define VG_TRY(expr)                      \
    do {                                  \
        vg_status vg_try_status_ = (expr); \
        if (vg_try_status_ != VG_OK)      \
            return vg_try_status_;        \
    } while (0)

// Wraps an exported function body so that no C++ exception crosses the ABI.
#define VG_GUARD_BEGIN try {
#define VG_GUARD_END(fn)                                                                   \
    }                                                                                      \
    catch (const std::bad_alloc&) {                                                        \
        return vg::fail(VG_ERROR_OUT_OF_MEMORY, std::string(fn) + ": host allocation failed"); \
    }                                                                                      \
    catch (const std::exception& e) {                                                      \
        return vg::fail(VG_ERROR_INTERNAL, std::string(fn) + ": " + e.what());            \
    }                                                                                      \
    catch (...) {                                                                          \
        return vg::fail(VG_ERROR_INTERNAL, std::string(fn) + ": unknown exception");      \
    }
