// NVFP4 on the device (ModelOpt's layout, the quantization fixtures' rule): byte (odd << 4) | even holds two E2M1
// codes, low nibble first; every 16 inputs of a row share an E4M3 block scale, the tensor a float32 scale_2.
// value = E2M1(code) * (float(block_scale) * scale_2).
//  - vg_dequantize_nvfp4: weights unpacked to bf16. Hopper has no FP4 tensor cores: the engine runs this into a
//    scratch buffer right before a bf16 GEMM, so the weights stay 4-bit in device memory.
//  - vg_quantize_nvfp4 and vg_swizzle_nvfp4_scales: the operands of an FP4 tensor-core GEMM (Blackwell,
//    fp4_gemm.cpp): activations quantized dynamically by the same rule, block scales in cuBLASLt's tiled layout.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include "amax.cuh"
#include "internal.h"

namespace {

constexpr int kBlock = 16;

// E2M1 magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6; bit 3 is the sign. Code 8 ("-0") is +0, as the quantizers decode it.
__constant__ float kE2M1[16] = {0.0f, 0.5f, 1.0f, 1.5f, 2.0f, 3.0f, 4.0f, 6.0f,
                                0.0f, -0.5f, -1.0f, -1.5f, -2.0f, -3.0f, -4.0f, -6.0f};

// One thread per 16-element block: 8 packed bytes and one scale byte in, 16 bf16 (two 16-byte stores) out.
__global__ void unpack_kernel(const uint2* packed, const uint8_t* block_scales, const float* scale_2, int64_t blocks,
                              uint4* out) {
    // the table in shared memory: threads of a warp look up different codes (constant memory would serialize them)
    __shared__ float table[16];
    if (threadIdx.x < 16) table[threadIdx.x] = kE2M1[threadIdx.x];
    __syncthreads();
    const float s2 = *scale_2;
    for (int64_t b = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; b < blocks;
         b += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(block_scales[b]), __NV_E4M3);
        const float step = __half2float(__half(h)) * s2;
        const uint2 raw = packed[b];
        uint4 o[2];
        __nv_bfloat162* d = reinterpret_cast<__nv_bfloat162*>(o);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            const uint32_t word = i < 4 ? raw.x : raw.y;
            const uint32_t byte = (word >> (8 * (i & 3))) & 0xffu;
            d[i] = __floats2bfloat162_rn(table[byte & 0xfu] * step, table[byte >> 4] * step);
        }
        out[2 * b] = o[0];
        out[2 * b + 1] = o[1];
    }
}

constexpr float kRange = 6.0f * 448.0f;  // the largest E2M1 magnitude times the largest e4m3 block scale

// ModelOpt's E2M1 code of v (the fixture's rule): the magnitude code counts the midpoints 0.25, 0.75, 1.25, 1.75,
// 2.5, 3.5, 5 below |v| (a value on a midpoint rounds down), plus one at exactly 0.75, 1.75 and 2.5; bit 3 the sign,
// set for v < 0 only.
__device__ __forceinline__ uint32_t e2m1(float v) {
    const float a = fabsf(v);
    uint32_t code = !(a <= 0.25f);
    code += !(a <= 0.75f);
    code += !(a <= 1.25f);
    code += !(a <= 1.75f);
    code += !(a <= 2.5f);
    code += !(a <= 3.5f);
    code += !(a <= 5.0f);
    code += (a == 0.75f) | (a == 1.75f) | (a == 2.5f);
    return v < 0.0f ? code | 8u : code;
}

// The byte offset of block scale (r, c) (row r, 16-input block c) in cuBLASLt's tiled layout for VEC16_UE4M3 scales:
// tiles of 128 rows x 4 blocks, 512 bytes each, the tiles of a row band contiguous; inside a tile, row r's scale sits
// at (r % 32) * 16 + ((r % 128) / 32) * 4 + c % 4.
__device__ __forceinline__ int64_t tiled_offset(int64_t r, int64_t c, int64_t tile_cols) {
    return ((r / 128) * tile_cols + c / 4) * 512 + (r % 32) * 16 + ((r % 128) / 32) * 4 + (c % 4);
}

// One thread per 16-input block of the padded [ceil128(rows), 4 * tile_cols] grid: the block's codes into `packed`
// ([rows, cols / 2]) and its e4m3 scale into the tiled layout; padding blocks get scale 0.
// scale[VG_NVFP4_AMAX] holds max|x| (tensor_amax); scale_2 = amax / (6 * 448), written to scale[VG_NVFP4_SCALE_2].
template <typename T>
__global__ void quantize_kernel(const T* x, int64_t rows, int64_t cols, int64_t tile_cols, float* scale, uint2* packed,
                                uint8_t* tiled) {
    const int64_t blocks_per_row = cols / kBlock, padded_cols = tile_cols * 4;
    const int64_t padded = (rows + 127) / 128 * 128 * padded_cols;
    const float s2 = scale[VG_NVFP4_AMAX] / kRange;
    if (blockIdx.x == 0 && threadIdx.x == 0) scale[VG_NVFP4_SCALE_2] = s2;
    const float block_range = 6.0f * s2;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < padded;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = i / padded_cols, c = i % padded_cols;
        uint8_t sbyte = 0;
        if (r < rows && c < blocks_per_row) {
            float v[16];
            const T* p = x + r * cols + c * kBlock;
            vg::load8(p, v);
            vg::load8(p + 8, v + 8);
            float amax = 0.0f;
#pragma unroll
            for (int k = 0; k < 16; ++k) amax = fmaxf(amax, fabsf(v[k]));
            // an all-zero block (or tensor: block_range 0 too) gets scale 1 rather than 0/0
            const float ratio = amax == 0.0f ? 0.0f : __fdiv_rn(amax, block_range);
            sbyte = static_cast<uint8_t>(__nv_cvt_float_to_fp8(ratio == 0.0f ? 1.0f : ratio, __NV_SATFINITE, __NV_E4M3));
            __half_raw h = __nv_cvt_fp8_to_halfraw(static_cast<__nv_fp8_storage_t>(sbyte), __NV_E4M3);
            const float step = __half2float(__half(h)) * s2;
            uint32_t word[2] = {0u, 0u};
#pragma unroll
            for (int k = 0; k < 16; ++k) {
                const uint32_t code = v[k] == 0.0f ? 0u : e2m1(__fdiv_rn(v[k], step));
                word[k / 8] |= code << (4 * (k % 8));
            }
            packed[(r * cols + c * kBlock) / 16] = make_uint2(word[0], word[1]);
        }
        tiled[tiled_offset(r, c, tile_cols)] = sbyte;
    }
}

// Row-major [rows, blocks] e4m3 scales into the tiled layout (zeros in the padding).
__global__ void swizzle_kernel(const uint8_t* scales, int64_t rows, int64_t blocks, int64_t tile_cols, uint8_t* tiled) {
    const int64_t padded_cols = tile_cols * 4, padded = (rows + 127) / 128 * 128 * padded_cols;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < padded;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = i / padded_cols, c = i % padded_cols;
        tiled[tiled_offset(r, c, tile_cols)] = r < rows && c < blocks ? scales[r * blocks + c] : 0;
    }
}

// The FP4 GEMM's alpha and beta (pointer mode device): alpha = a_scale_2 * w_scale_2, beta = 0.
__global__ void alpha_kernel(const float* a_scale_2, const float* w_scale_2, float* alpha_beta) {
    alpha_beta[0] = *a_scale_2 * *w_scale_2;
    alpha_beta[1] = 0.0f;
}

// The shape rule of every NVFP4 entry point: rows > 0, cols a positive multiple of the 16-input block.
vg_status check_shape(const char* fn, int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0 || cols % kBlock)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": rows must be positive and cols a positive multiple of 16 (got " +
                                                       std::to_string(rows) + ", " + std::to_string(cols) + ")");
    return VG_OK;
}

int64_t tile_cols_of(int64_t cols) { return (cols / kBlock + 3) / 4; }

}  // namespace

vg_status vg::nvfp4_alpha(const float* a_scale_2, const float* w_scale_2, float* alpha_beta, cudaStream_t stream) {
    alpha_kernel<<<1, 1, 0, stream>>>(a_scale_2, w_scale_2, alpha_beta);
    return vg::launch_check("vg_nvfp4_gemm_run (alpha)");
}

extern "C" {

VG_API int64_t vg_nvfp4_tiled_scale_bytes(int64_t rows, int64_t cols) {
    if (rows <= 0 || cols <= 0 || cols % kBlock) return 0;
    return (rows + 127) / 128 * 128 * tile_cols_of(cols) * 4;
}

VG_API vg_status vg_quantize_nvfp4(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* packed,
                                   void* tiled_scales, float* scale, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_quantize_nvfp4";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!x || !packed || !tiled_scales || !scale) return bad("x, packed, tiled_scales and scale must not be NULL");
    VG_TRY(check_shape(fn, rows, cols));
    if (!vg::aligned16(x) || reinterpret_cast<uintptr_t>(packed) % 8 || !vg::aligned16(scale))
        return bad("x and scale must be 16-byte and packed 8-byte aligned");
    if (x_dtype != VG_DTYPE_BF16 && x_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": x_dtype " + vg::dtype_name(x_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    const int64_t vecs = rows * cols / 8, tc = tile_cols_of(cols);
    const int grid = vg::stride_grid((rows + 127) / 128 * 128 * tc * 4);
    vg::reset_amax<<<1, 32, 0, s>>>(scale + VG_NVFP4_AMAX);
    auto* out = static_cast<uint2*>(packed);
    auto* tiled = static_cast<uint8_t*>(tiled_scales);
    if (x_dtype == VG_DTYPE_BF16) {
        auto* xb = static_cast<const __nv_bfloat16*>(x);
        vg::tensor_amax<<<vg::stride_grid(vecs), 256, 0, s>>>(xb, vecs, scale + VG_NVFP4_AMAX);
        quantize_kernel<<<grid, 256, 0, s>>>(xb, rows, cols, tc, scale, out, tiled);
    } else {
        auto* xf = static_cast<const float*>(x);
        vg::tensor_amax<<<vg::stride_grid(vecs), 256, 0, s>>>(xf, vecs, scale + VG_NVFP4_AMAX);
        quantize_kernel<<<grid, 256, 0, s>>>(xf, rows, cols, tc, scale, out, tiled);
    }
    return vg::launch_check(fn);
    VG_GUARD_END("vg_quantize_nvfp4")
}

VG_API vg_status vg_swizzle_nvfp4_scales(const void* block_scales, int64_t rows, int64_t cols, void* tiled_scales,
                                         void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_swizzle_nvfp4_scales";
    vg::clear_error();
    if (!block_scales || !tiled_scales)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": block_scales and tiled_scales must not be NULL");
    VG_TRY(check_shape(fn, rows, cols));
    const int64_t tc = tile_cols_of(cols);
    swizzle_kernel<<<vg::stride_grid((rows + 127) / 128 * 128 * tc * 4), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const uint8_t*>(block_scales), rows, cols / kBlock, tc, static_cast<uint8_t*>(tiled_scales));
    return vg::launch_check(fn);
    VG_GUARD_END("vg_swizzle_nvfp4_scales")
}


VG_API vg_status vg_dequantize_nvfp4(const void* packed, const void* block_scales, const float* scale_2, int64_t rows,
                                     int64_t cols, void* out, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_dequantize_nvfp4";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!packed || !block_scales || !scale_2 || !out) return bad("packed, block_scales, scale_2 and out must not be NULL");
    VG_TRY(check_shape(fn, rows, cols));
    if (reinterpret_cast<uintptr_t>(packed) % 8 || !vg::aligned16(out) || reinterpret_cast<uintptr_t>(scale_2) % 4)
        return bad("packed must be 8-byte, out 16-byte and scale_2 4-byte aligned");
    const int64_t blocks = rows * (cols / kBlock);
    unpack_kernel<<<vg::stride_grid(blocks), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const uint2*>(packed), static_cast<const uint8_t*>(block_scales), scale_2, blocks,
        static_cast<uint4*>(out));
    return vg::launch_check(fn);
    VG_GUARD_END("vg_dequantize_nvfp4")
}

}  // extern "C"
