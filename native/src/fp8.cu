// FP8 (E4M3) per-tensor quantization with the scale computed on the device: reset, amax, quantize.
#include <cuda_fp8.h>

#include "amax.cuh"
#include "internal.h"
#include "vec.cuh"

namespace {

constexpr float kFp8Max = 448.0f;  // largest finite E4M3 value

__global__ void reset_kernel(float* block) {
    if (threadIdx.x < VG_FP8_SCALE_FLOATS) block[threadIdx.x] = 0.0f;
}

__device__ __forceinline__ float quant_factor(const float* block) {
    float amax = block[VG_FP8_AMAX];
    return amax > 0.0f ? kFp8Max / amax : (amax == 0.0f ? 1.0f : amax);
}

template <typename T>
__global__ void quantize_kernel(const T* x, int64_t vecs, float* block, uint2* out) {
    const float s = quant_factor(block);
    if (blockIdx.x == 0 && threadIdx.x == 0) {
        block[VG_FP8_QUANT] = s;
        block[VG_FP8_DEQUANT] = 1.0f / s;
    }
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float v[8];
        vg::load8(x + i * 8, v);
        unsigned short p[4];
#pragma unroll
        for (int k = 0; k < 4; ++k)
            p[k] = __nv_cvt_float2_to_fp8x2(make_float2(v[2 * k] * s, v[2 * k + 1] * s), __NV_SATFINITE, __NV_E4M3);
        out[i] = make_uint2(p[0] | (static_cast<unsigned>(p[1]) << 16), p[2] | (static_cast<unsigned>(p[3]) << 16));
    }
}

template <typename T>
__global__ void dequantize_kernel(const uint2* x, int64_t vecs, const float* block, T* out) {
    const float d = block[VG_FP8_DEQUANT];
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        uint2 raw = x[i];
        unsigned short p[4] = {static_cast<unsigned short>(raw.x & 0xffffu), static_cast<unsigned short>(raw.x >> 16),
                               static_cast<unsigned short>(raw.y & 0xffffu), static_cast<unsigned short>(raw.y >> 16)};
        float v[8];
#pragma unroll
        for (int k = 0; k < 4; ++k) {
            float2 f = __half22float2(__half2(__nv_cvt_fp8x2_to_halfraw2(p[k], __NV_E4M3)));
            v[2 * k] = f.x * d;
            v[2 * k + 1] = f.y * d;
        }
        vg::store8(out + i * 8, v);
    }
}

vg_status check_common(const char* fn, const void* x, int64_t count, const void* out, const void* block) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!x || !out || !block) return bad("x, out and scale_block must not be NULL");
    if (count <= 0 || count % 8) return bad("count " + std::to_string(count) + " must be a positive multiple of 8");
    if (!vg::aligned16(x) || !vg::aligned16(out) || !vg::aligned16(block))
        return bad("x, out and scale_block must be 16-byte aligned");
    return VG_OK;
}


}  // namespace

extern "C" {

VG_API vg_status vg_quantize_fp8(const void* x, vg_dtype x_dtype, int64_t count, void* out, float* scale_block,
                                 void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    VG_TRY(check_common("vg_quantize_fp8", x, count, out, scale_block));
    if (x_dtype != VG_DTYPE_BF16 && x_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        std::string("vg_quantize_fp8: x_dtype ") + vg::dtype_name(x_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    const int64_t vecs = count / 8;
    const int grid = vg::stride_grid(vecs);
    reset_kernel<<<1, 32, 0, s>>>(scale_block);
    if (x_dtype == VG_DTYPE_BF16) {
        vg::tensor_amax<true><<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x), vecs, scale_block + VG_FP8_AMAX);
        quantize_kernel<<<grid, 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x), vecs, scale_block,
                                             static_cast<uint2*>(out));
    } else {
        vg::tensor_amax<true><<<grid, 256, 0, s>>>(static_cast<const float*>(x), vecs, scale_block + VG_FP8_AMAX);
        quantize_kernel<<<grid, 256, 0, s>>>(static_cast<const float*>(x), vecs, scale_block, static_cast<uint2*>(out));
    }
    return vg::launch_check("vg_quantize_fp8");
    VG_GUARD_END("vg_quantize_fp8")
}

VG_API vg_status vg_dequantize_fp8(const void* x, const float* scale_block, int64_t count, void* out,
                                   vg_dtype out_dtype, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    VG_TRY(check_common("vg_dequantize_fp8", x, count, out, scale_block));
    if (out_dtype != VG_DTYPE_BF16 && out_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED,
                        std::string("vg_dequantize_fp8: out_dtype ") + vg::dtype_name(out_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    const int64_t vecs = count / 8;
    const int grid = vg::stride_grid(vecs);
    if (out_dtype == VG_DTYPE_BF16)
        dequantize_kernel<<<grid, 256, 0, s>>>(static_cast<const uint2*>(x), vecs, scale_block,
                                               static_cast<__nv_bfloat16*>(out));
    else
        dequantize_kernel<<<grid, 256, 0, s>>>(static_cast<const uint2*>(x), vecs, scale_block, static_cast<float*>(out));
    return vg::launch_check("vg_dequantize_fp8");
    VG_GUARD_END("vg_dequantize_fp8")
}

}  // extern "C"
