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
constexpr int kPad = 128;         // sequence padding of the quantized tensors (the largest block)
constexpr float kLog2e = 1.4426950408889634f;

inline int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// The wgmma kernel's key block for kv_len keys when the plan leaves it to the library: 192 keys run ~4 % faster per key
// than 128 (RESULTS stops 27, 47), but a short key sequence pays for the padding of its last block and for that block's
// masked softmax. The padded keys weighted by that rate: Wan's self-attention (32760 keys) and FLUX's joint one (4608)
// take 192, Wan's cross-attention on 512 text tokens 128 (0.481 vs 0.543 ms a call, stop 47).
inline int wgmma_keys(int64_t kv_len) {
    return round_up(kv_len, 192) * 96 <= round_up(kv_len, 128) * 100 ? 192 : 128;
}

// Q's INT8 codes [B, H, Sq_pad, D] and their scales [B, H, Sq_pad / kQGroup] (fp32, softmax_scale · log2(e) included), as
// the pre-pass writes them into the workspace and vg_sage_quantize_q_norm_rope into a buffer of its own.
struct QCodesLayout {
    int64_t sq_pad = 0;
    size_t q8 = 0, qs = 0, total = 0;
};
inline QCodesLayout q_codes_layout(const vg_sage_attention_desc& d) {
    QCodesLayout l;
    l.sq_pad = round_up(d.q_len, kPad);
    const size_t codes = static_cast<size_t>(d.batch * d.heads * l.sq_pad * d.head_dim);
    l.qs = (codes + 255) / 256 * 256;
    l.total = l.qs + static_cast<size_t>(d.batch * d.heads * (l.sq_pad / kQGroup)) * 4;
    return l;
}

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


}  // namespace vg::sage

// The plan: its description with every default resolved (kernel, blocks, strides, scale).
struct vg_sage_attention_plan_t {
    vg_sage_attention_desc desc{};  // kernel resolved: VG_SAGE_KERNEL_MMA or VG_SAGE_KERNEL_WGMMA
};

namespace vg::sage {

#ifdef __CUDACC__
// The INT8 code of x · inv in the low byte of a float's bits (|x · inv| <= 127 by the choice of inv): the product
// rounded to fp32 (as __float2int_rn(x * inv) read it), plus 1.5 · 2^23, which rounds it to the nearest integer, ties to
// even, in the low bits (a negative code as its two's complement byte). Two FP32 operations where the conversion (F2I,
// 16 per clock and SM) and two clamps were; the same codes (stop 37: the pre-pass 15 % faster).
__device__ __forceinline__ uint32_t i8_bits(float x, float inv) { return __float_as_uint(__fadd_rn(__fmul_rn(x, inv), 12582912.0f)); }

// The low bytes of a, b, c, d as one word, a in the lowest byte.
__device__ __forceinline__ uint32_t pack_low_bytes(uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
    return __byte_perm(__byte_perm(a, b, 0x0040), __byte_perm(c, d, 0x0040), 0x5410);
}

// Eight values to eight INT8 codes (lowest address = lowest byte).
__device__ __forceinline__ uint2 quant_i8x8(const float (&x)[8], float inv) {
    return make_uint2(pack_low_bytes(i8_bits(x[0], inv), i8_bits(x[1], inv), i8_bits(x[2], inv), i8_bits(x[3], inv)),
                      pack_low_bytes(i8_bits(x[4], inv), i8_bits(x[5], inv), i8_bits(x[6], inv), i8_bits(x[7], inv)));
}

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
