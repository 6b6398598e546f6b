// Shared by the two main kernels of Sage-style attention (attention_sage.cu: the pre-pass and the mma.sync kernel;
// attention_sage_wgmma.cu: the Hopper wgmma kernel). Nothing here crosses the C ABI.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "visualgen_native.h"

namespace vg::sage {

constexpr int kQGroup = 16;       // queries per Q scale (one warp's rows in both kernels)
constexpr int kKGroup = 64;       // keys per K scale
constexpr int kWgmmaBlock = 128;  // the wgmma kernel's block_q = block_k = head_dim

// The workspace of one run as the wgmma kernel reads it (layout: attention_sage.cu's SageLayout).
struct WgmmaLaunch {
    const void* q8;    // int8 [B, H, Sq_pad, 128]
    const void* k8;    // int8 [B, Hkv, Skv_pad, 128]
    const void* vt8;   // e4m3 [B, Hkv, 128, Skv_pad], keys permuted per 16
    const float* qscale;
    const float* kscale;
    const float* vscale;
    void* out;         // bf16, element strides os_b, os_s, os_h (d stride 1)
    int64_t os_b, os_s, os_h;
    int64_t batch, heads, kv_heads, sq, skv, sq_pad, skv_pad;
};

// Whether `device` can run the wgmma kernel from this build; if not, *why says what is missing.
bool wgmma_available(int device, std::string* why);
// Sets the kernel's shared-memory limit (once per plan).
vg_status wgmma_prepare();
// Enqueues the main kernel on the quantized workspace (capture-safe: the tensor maps travel as kernel parameters).
vg_status wgmma_attend(const WgmmaLaunch& a, cudaStream_t stream);

}  // namespace vg::sage
