// Device helpers: 8-element vector loads/stores of bf16 or fp32 into fp32 registers, E4M3 packing, block sums and maxima.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>

#include "visualgen_native.h"

namespace vg {

// 8 bf16 values held in a uint4 (as loaded) to fp32.
__device__ __forceinline__ void unpack8(const uint4& raw, float v[8]) {
    const __nv_bfloat162* h = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        float2 f = __bfloat1622float2(h[i]);
        v[2 * i] = f.x;
        v[2 * i + 1] = f.y;
    }
}

__device__ __forceinline__ void load8(const __nv_bfloat16* p, float v[8]) { unpack8(*reinterpret_cast<const uint4*>(p), v); }

__device__ __forceinline__ void load8(const float* p, float v[8]) {
    float4 a = *reinterpret_cast<const float4*>(p), b = *reinterpret_cast<const float4*>(p + 4);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w; v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}

// 8 fp32 values rounded to bf16 in a uint4 (as stored): unpack8's inverse.
__device__ __forceinline__ uint4 pack8_bf16(const float v[8]) {
    uint4 raw;
    __nv_bfloat162* h = reinterpret_cast<__nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; ++i) h[i] = __floats2bfloat162_rn(v[2 * i], v[2 * i + 1]);
    return raw;
}

__device__ __forceinline__ void store8(__nv_bfloat16* p, const float v[8]) { *reinterpret_cast<uint4*>(p) = pack8_bf16(v); }

__device__ __forceinline__ void store8(float* p, const float v[8]) {
    *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    *reinterpret_cast<float4*>(p + 4) = make_float4(v[4], v[5], v[6], v[7]);
}

// Loads 8 elements of a tensor whose dtype is only known at run time (bf16 or fp32).
__device__ __forceinline__ void load8_any(const void* base, int64_t offset, vg_dtype t, float v[8]) {
    if (t == VG_DTYPE_BF16)
        load8(static_cast<const __nv_bfloat16*>(base) + offset, v);
    else
        load8(static_cast<const float*>(base) + offset, v);
}

__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(float x) { return x; }
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

__device__ __forceinline__ float round_bf16(float x) { return __bfloat162float(__float2bfloat16_rn(x)); }

// GELU, tanh form (PyTorch's gelu(approximate="tanh")), with the MUFU's tanh.approx.f32 (relative error under 2^-10.9):
// for values stored in bf16 next (8 significant bits), inside a memory-bound pass where tanhf's ~20 instructions a
// value would cost more than the pass itself.
__device__ __forceinline__ float gelu_tanh_fast(float x) {
    const float u = 0.7978845608028654f * fmaf(0.044715f * x, x * x, x);
    float t;
    asm("tanh.approx.f32 %0, %1;\n" : "=f"(t) : "f"(u));
    return 0.5f * x * (1.0f + t);
}

// Sum over the block (float or double); every thread gets the result. `scratch` holds one value per warp (>= 32 for
// any block size).
template <typename T>
__device__ __forceinline__ T block_sum(T x, T* scratch) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nwarps = (blockDim.x + 31) >> 5;
    __syncthreads();  // scratch may still be read by a previous reduction
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    T y = lane < nwarps ? scratch[lane] : T(0);
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) y += __shfl_xor_sync(0xffffffffu, y, o);
    return y;
}

// Maximum over the warp; every lane gets the result.
__device__ __forceinline__ float warp_max(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
    return x;
}

// Maximum over the block; every thread gets the result (scratch as block_sum's).
__device__ __forceinline__ float block_max(float x, float* scratch) {
    x = warp_max(x);
    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31, nwarps = (blockDim.x + 31) >> 5;
    __syncthreads();
    if (lane == 0) scratch[warp] = x;
    __syncthreads();
    return warp_max(lane < nwarps ? scratch[lane] : x);
}

// Two floats to two E4M3 codes (saturating to ±448, round to nearest even), low byte first.
__device__ __forceinline__ unsigned short e4m3x2(float a, float b) {
    return __nv_cvt_float2_to_fp8x2(make_float2(a, b), __NV_SATFINITE, __NV_E4M3);
}

// 8 values -> 8 E4M3 bytes as one 8-byte word.
__device__ __forceinline__ uint2 pack8(const float v[8]) {
    unsigned short p[4];
#pragma unroll
    for (int k = 0; k < 4; ++k) p[k] = e4m3x2(v[2 * k], v[2 * k + 1]);
    return make_uint2(p[0] | (static_cast<unsigned>(p[1]) << 16), p[2] | (static_cast<unsigned>(p[3]) << 16));
}

// The per-row quantization factor of a row whose max|y| is amax: qs = 448 * (1 / amax) (each step rounded to fp32),
// 1 when amax is 0; the row's dequantization scale is 1 / qs.
__device__ __forceinline__ float e4m3_row_factor(float amax) { return amax > 0.0f ? 448.0f * (1.0f / amax) : 1.0f; }

// Sum over the warp; every lane gets the result.
__device__ __forceinline__ float warp_sum(float x) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
    return x;
}

// ---- one row held in registers by a block (or by a warp, for short rows) ------------------------------------
// Thread `tid` of the `nthreads` that share a row owns its 8-element vectors tid, tid + nthreads, ... (NV of them;
// NV from row_launch). Vectors past `channels` are inactive and read as zeros.

__device__ __forceinline__ int64_t row_vec_offset(int j, int tid, int nthreads) {
    return (tid + static_cast<int64_t>(j) * nthreads) * 8;
}

// Loads the thread's vectors of one row; returns the sum of x (squares: the sum of x²) over them.
template <int NV, typename T>
__device__ __forceinline__ float load_row(const T* x, int64_t channels, float v[NV][8], bool active[NV], bool squares,
                                          int tid, int nthreads) {
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        const int64_t c = row_vec_offset(j, tid, nthreads);
        active[j] = c < channels;
        if (active[j]) {
            load8(x + c, v[j]);
#pragma unroll
            for (int i = 0; i < 8; ++i) s += squares ? v[j][i] * v[j][i] : v[j][i];
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) v[j][i] = 0.0f;
        }
    }
    return s;
}

// Rows of at most this many channels are held by one warp each (8 rows per block): a block per row would leave most
// of each block idle and pay a block-wide reduction for 32 values.
constexpr int64_t kWarpRowChannels = 256;

// Vectors per thread (1, 2 or 4: the kernels' NV) and threads per block (a multiple of 32) for rows of `channels`
// held by a whole block. Two vectors a thread from 65 vectors a row on: at Wan's 1536 channels (96 threads instead of
// 192) the norm kernels took 6-11 % less time on an H200 (stop 38; four vectors a thread were slower).
inline void row_launch(int64_t channels, int& nv, int& threads) {
    const int64_t vecs = channels / 8;
    nv = vecs <= 64 ? 1 : vecs <= 2048 ? 2 : 4;
    threads = static_cast<int>((vecs + nv - 1) / nv);
    threads = (threads + 31) / 32 * 32;
}

}  // namespace vg
