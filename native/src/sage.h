// Shared by the two main kernels of Sage-style attention (attention_sage.cu: the pre-pass and the mma.sync kernel;
// attention_sage_wgmma.cu: the Hopper wgmma kernel). Nothing here crosses the C ABI.
#pragma once

#include <cuda_runtime.h>
#ifdef __CUDACC__
#include <cuda_fp8.h>
#endif

#include <cstdint>
#include <string>

#include "visualgen_native.h"

namespace vg::sage {

constexpr int kQGroup = 16;       // queries per Q scale (one warp's rows in both kernels)
constexpr int kKGroup = 64;       // keys per K scale
constexpr int kWgmmaBlock = 128;  // the wgmma kernel's block_q = head_dim
constexpr int kWgmmaKeys = 192;   // the wgmma kernel's default block_k (it also runs 128)

// One run's main-kernel inputs: the workspace the pre-pass wrote (layout: attention_sage.cu's SageLayout) and the output.
// Both main kernels take it (the mma.sync kernel as its parameter).
struct AttendArgs {
    const int8_t* q8;    // [B, H, Sq_pad, D]
    const int8_t* k8;    // [B, Hkv, Skv_pad, D]
    const uint8_t* vt8;  // e4m3 [B, Hkv, D, Skv_pad], keys permuted per 16
    const float* qscale;
    const float* kscale;
    const float* vscale;
    void* out;           // bf16, element strides os_b, os_s, os_h (d stride 1)
    int64_t os_b, os_s, os_h;
    int64_t batch, heads, kv_heads, sq, skv, sq_pad, skv_pad;
    int64_t block_k;     // keys per main-loop step (the wgmma kernel: 128 or 192)
};

// Whether `device` can run the wgmma kernel from this build; if not, *why says what is missing.
bool wgmma_available(int device, std::string* why);
// Sets the kernel's shared-memory limit (once per plan).
vg_status wgmma_prepare();
// Enqueues the main kernel on the quantized workspace (capture-safe: the tensor maps travel as kernel parameters).
vg_status wgmma_attend(const AttendArgs& a, cudaStream_t stream);

#ifdef __CUDACC__
// Device helpers of both main kernels.
__device__ __forceinline__ uint32_t smem_u32(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }
__device__ __forceinline__ float ex2(float x) {
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));  // 2^-inf = +0
    return y;
}
// Two floats to two e4m3 codes (saturating), `lo` in the low byte.
__device__ __forceinline__ uint32_t fp8x2(float lo, float hi) {
    return static_cast<uint32_t>(__nv_cvt_float2_to_fp8x2(make_float2(lo, hi), __NV_SATFINITE, __NV_E4M3));
}
#endif

}  // namespace vg::sage
