// NVFP4 weights unpacked to bf16 on the device (ModelOpt's layout, the quantization fixtures' rule): byte
// (odd << 4) | even holds two E2M1 codes, low nibble first; every 16 inputs of a row share an E4M3 block scale,
// the tensor a float32 scale_2. value = E2M1(code) * (float(block_scale) * scale_2), rounded to bf16.
// Hopper has no FP4 tensor cores: the engine runs this into a scratch buffer right before a bf16 GEMM, so the
// weights stay 4-bit in device memory. The dequantization is not fused into the GEMM's operand load (yet).
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

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

}  // namespace

extern "C" {

VG_API vg_status vg_dequantize_nvfp4(const void* packed, const void* block_scales, const float* scale_2, int64_t rows,
                                     int64_t cols, void* out, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_dequantize_nvfp4";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!packed || !block_scales || !scale_2 || !out) return bad("packed, block_scales, scale_2 and out must not be NULL");
    if (rows <= 0 || cols <= 0 || cols % kBlock)
        return bad("rows must be positive and cols a positive multiple of 16 (got " + std::to_string(rows) + ", " +
                   std::to_string(cols) + ")");
    if (reinterpret_cast<uintptr_t>(packed) % 8 || !vg::aligned16(out) || reinterpret_cast<uintptr_t>(scale_2) % 4)
        return bad("packed must be 8-byte, out 16-byte and scale_2 4-byte aligned");
    const int64_t blocks = rows * (cols / kBlock);
    int dev = 0, sms = 132;
    if (cudaGetDevice(&dev) == cudaSuccess) cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    int64_t grid = (blocks + 255) / 256, cap = static_cast<int64_t>(sms) * 8;
    if (grid > cap) grid = cap;
    unpack_kernel<<<static_cast<unsigned>(grid), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const uint2*>(packed), static_cast<const uint8_t*>(block_scales), scale_2, blocks,
        static_cast<uint4*>(out));
    return vg::launch_check(fn);
    VG_GUARD_END("vg_dequantize_nvfp4")
}

}  // extern "C"
