// FP8 (E4M3) quantization of a quantized linear's activations, by the rules of the quantization fixtures
// (conformance/quant_ops/golden.json): one scale per tensor (static, from the checkpoint, or computed on the
// device from max|x|) or one scale per 1x128 group of a row; and, for dynamic activations, one scale per row (token),
// which takes one pass over x where a per-tensor scale takes two. Everything stays on the device: capture-safe.
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <type_traits>

#include "internal.h"
#include "amax.cuh"
#include "vec.cuh"

namespace {

constexpr float kE4M3Max = 448.0f;
constexpr int kGroup = 128;

using vg::e4m3x2;
using vg::pack8;

// Dynamic: s = bf16(max(amax / 448, 1 / (448 * 512))) (the fixture's per-tensor rule for a bf16 tensor),
// q = e4m3(x * (1 / s)). Static (fixed != NULL): s = *fixed, q = e4m3(x / s), as ONNX QuantizeLinear computes it.
template <typename T>
__global__ void tensor_quantize(const T* x, int64_t vecs, const float* fixed, float* scale, uint2* out) {
    float s;
    if (fixed) {
        s = *fixed;
    } else {
        float amax = scale[VG_FP8_TENSOR_AMAX];
        s = vg::round_bf16(fmaxf(amax / kE4M3Max, 1.0f / (kE4M3Max * 512.0f)));
    }
    const float inv = 1.0f / s;
    if (blockIdx.x == 0 && threadIdx.x == 0) scale[VG_FP8_TENSOR_DEQUANT] = s;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float v[8];
        vg::load8(x + i * 8, v);
#pragma unroll
        for (int k = 0; k < 8; ++k) v[k] = fixed ? __fdiv_rn(v[k], s) : v[k] * inv;
        out[i] = pack8(v);
    }
}

// 4 consecutive values (8-byte aligned for bf16, 16-byte for fp32: cols % 128 == 0) in one load.
__device__ __forceinline__ void load4(const __nv_bfloat16* p, float v[4]) {
    uint2 raw = *reinterpret_cast<const uint2*>(p);
    float2 a = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.x));
    float2 b = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&raw.y));
    v[0] = a.x; v[1] = a.y; v[2] = b.x; v[3] = b.y;
}

__device__ __forceinline__ void load4(const float* p, float v[4]) {
    float4 a = *reinterpret_cast<const float4*>(p);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
}

// One warp per (row, 128-column group), 4 values per lane: qs = 448 * (1 / amax) (1 when amax is 0), q = e4m3(x * qs),
// scales[g * padded_rows + r] = 1 / qs. Rows >= rows (the padding) get zero codes and scale 1.
template <typename T>
__global__ void group_quantize(const T* x, int64_t rows, int64_t cols, int64_t padded_rows, uint8_t* out,
                               float* scales) {
    const int64_t groups = cols / kGroup;
    const int64_t warp = (blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x) / 32;
    const int lane = threadIdx.x & 31;
    if (warp >= padded_rows * groups) return;
    const int64_t r = warp / groups, g = warp % groups;
    const int64_t at = r * cols + g * kGroup + lane * 4;
    float v[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    if (r < rows) load4(x + at, v);
    const float m = vg::warp_max(fmaxf(fmaxf(fabsf(v[0]), fabsf(v[1])), fmaxf(fabsf(v[2]), fabsf(v[3]))));
    // 448 · (1/amax), each step rounded to float32: the reference's 448/amax goes through the reciprocal, and the
    // one-step quotient differs by an ulp for some amax (moving e4m3 ties and the stored scale)
    const float qs = vg::e4m3_row_factor(m);
    unsigned short lo = e4m3x2(v[0] * qs, v[1] * qs), hi = e4m3x2(v[2] * qs, v[3] * qs);
    *reinterpret_cast<uint32_t*>(out + at) = lo | (static_cast<uint32_t>(hi) << 16);
    if (lane == 0) scales[g * padded_rows + r] = 1.0f / qs;
}

// GELU of 8 values, each rounded to T as a GELU stored in T would be.
template <typename T>
__device__ __forceinline__ void gelu8(float (&v)[8]) {
#pragma unroll
    for (int k = 0; k < 8; ++k) v[k] = vg::to_float(vg::from_float<T>(vg::gelu_tanh_fast(v[k])));
}

// A vector of 8 values of a row as row_quantize holds it between its two passes: bf16 as loaded (a uint4: 4 registers
// where 8 floats take 8, so more rows are in flight at once), fp32 as floats.
template <typename T>
struct Held;
template <>
struct Held<__nv_bfloat16> {
    uint4 raw;
    __device__ __forceinline__ void load(const __nv_bfloat16* p) { raw = *reinterpret_cast<const uint4*>(p); }
    __device__ __forceinline__ void get(float (&v)[8]) const { vg::unpack8(raw, v); }
    __device__ __forceinline__ void set(const float (&v)[8]) { raw = vg::pack8_bf16(v); }  // values already bf16: exact
};
template <>
struct Held<float> {
    float f[8];
    template <typename T>
    __device__ __forceinline__ void load(const T* p) { vg::load8(p, f); }
    __device__ __forceinline__ void get(float (&v)[8]) const {
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = f[i];
    }
    __device__ __forceinline__ void set(const float (&v)[8]) {
#pragma unroll
        for (int i = 0; i < 8; ++i) f[i] = v[i];
    }
};

// kTpr threads per row, kRowBlock / kTpr rows a block: the row's 8-value vectors loaded once (kKeep per thread held in
// registers; a longer row's rest read again for the codes), max|x| reduced over the row's threads,
// qs = 448 * (1 / amax) (1 when amax is 0) as group_quantize computes it, q = e4m3(x * qs), scales[row] = 1 / qs.
// kGelu: the row of GELU(x) instead of x, each value rounded to T as a GELU stored in T would be (the quantized input of
// a linear after a GELU: the GELU out of the previous GEMM's epilogue, on this memory-bound pass).
// H: how the kept vectors are held (Held<T> packed, Held<float> as floats).
template <typename T, typename H, int kTpr, int kKeep, int kRowBlock, int kMinBlocks, bool kGelu = false>
__global__ void __launch_bounds__(kRowBlock, kMinBlocks) row_quantize(const T* x, int64_t rows, int64_t cols, uint2* out, float* scales) {
    static_assert(kTpr % 32 == 0 && kRowBlock % kTpr == 0, "whole warps per row");
    const int sub = threadIdx.x / kTpr, t = threadIdx.x % kTpr;
    const int64_t r = blockIdx.x * static_cast<int64_t>(kRowBlock / kTpr) + sub, vecs = cols / 8;
    const bool live = r < rows;
    const T* row = x + (live ? r : 0) * cols;
    uint2* orow = out + r * vecs;
    H h[kKeep];
    float m = 0.0f;
#pragma unroll
    for (int j = 0; j < kKeep; ++j) {
        const int64_t i = t + j * kTpr;
        if (live && i < vecs) h[j].load(row + i * 8);
    }
#pragma unroll
    for (int j = 0; j < kKeep; ++j) {
        const int64_t i = t + j * kTpr;
        if (live && i < vecs) {
            float v[8];
            h[j].get(v);
            if constexpr (kGelu) {
                gelu8<T>(v);
                h[j].set(v);
            }
#pragma unroll
            for (int k = 0; k < 8; ++k) m = fmaxf(m, fabsf(v[k]));
        }
    }
    for (int64_t i = t + kKeep * kTpr; live && i < vecs; i += kTpr) {
        float w[8];
        vg::load8(row + i * 8, w);
        if constexpr (kGelu) gelu8<T>(w);
#pragma unroll
        for (int k = 0; k < 8; ++k) m = fmaxf(m, fabsf(w[k]));
    }
    m = vg::warp_max(m);
    if constexpr (kTpr > 32) {
        __shared__ float part[kRowBlock / 32];
        if ((threadIdx.x & 31) == 0) part[threadIdx.x / 32] = m;
        __syncthreads();
#pragma unroll
        for (int w = 0; w < kTpr / 32; ++w) m = fmaxf(m, part[sub * (kTpr / 32) + w]);
    }
    if (!live) return;
    const float qs = vg::e4m3_row_factor(m);
    if (t == 0) scales[r] = 1.0f / qs;
#pragma unroll
    for (int j = 0; j < kKeep; ++j) {
        const int64_t i = t + j * kTpr;
        if (i < vecs) {
            float v[8];
            h[j].get(v);
#pragma unroll
            for (int k = 0; k < 8; ++k) v[k] *= qs;
            orow[i] = pack8(v);
        }
    }
    for (int64_t i = t + kKeep * kTpr; i < vecs; i += kTpr) {
        float w[8];
        vg::load8(row + i * 8, w);
        if constexpr (kGelu) gelu8<T>(w);
#pragma unroll
        for (int k = 0; k < 8; ++k) w[k] *= qs;
        orow[i] = pack8(w);
    }
}

// Rows of up to 2048 values: a warp each, in registers, 8 rows a block (a block per row ran [65520, 1536] at 1.1 TB/s
// on an H200); longer: a block of four warps each, up to 12288 values in registers. Measured on an H200 (stop 38, Nsight
// Compute, [65520, 8960] bf16): held as floats, 128-139 registers a thread, 563-626 us; held as bf16 under a bound of
// 80 registers, 865 us for x and 599-602 us for GELU(x) (whose GELU then costs nothing: the same pass held as floats
// took 0.94 ms in the forward). So the long rows' GELU pass holds bf16, their plain pass floats; short rows hold bf16
// ([65520, 1536]: 0.087 ms a call in the forward against 0.100 as floats).
template <typename T, bool kGelu = false>
void launch_row_quantize(const T* x, int64_t rows, int64_t cols, uint2* out, float* scales, cudaStream_t s) {
    constexpr bool kBf16 = std::is_same_v<T, __nv_bfloat16>;
    if (cols <= 32 * 8 * 8)
        row_quantize<T, Held<T>, 32, 8, 256, 1, kGelu><<<static_cast<unsigned>((rows + 7) / 8), 256, 0, s>>>(x, rows, cols, out, scales);
    else if constexpr (kBf16 && kGelu)
        row_quantize<T, Held<T>, 128, 12, 128, 6, kGelu><<<static_cast<unsigned>(rows), 128, 0, s>>>(x, rows, cols, out, scales);
    else
        row_quantize<T, Held<float>, 128, 12, 128, 1, kGelu><<<static_cast<unsigned>(rows), 128, 0, s>>>(x, rows, cols, out, scales);
}

// vg_quantize_fp8_rows and vg_quantize_fp8_rows_gelu: the arguments' checks, then the launch.
vg_status quantize_rows(const char* fn, bool gelu, const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* out,
                        float* scales, void* stream) {
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!x || !out || !scales) return bad("x, out and scales must not be NULL");
    if (rows <= 0 || rows > 0x7fffffffLL || cols <= 0 || cols % 8)
        return bad("rows must be positive (at most 2^31 - 1) and cols a positive multiple of 8 (got " + std::to_string(rows) +
                   ", " + std::to_string(cols) + ")");
    if (!vg::aligned16(x) || !vg::aligned16(out)) return bad("x and out must be 16-byte aligned");
    if (x_dtype != VG_DTYPE_BF16 && x_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": x_dtype " + vg::dtype_name(x_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    auto* o = static_cast<uint2*>(out);
    if (x_dtype == VG_DTYPE_BF16) {
        auto* xb = static_cast<const __nv_bfloat16*>(x);
        if (gelu) launch_row_quantize<__nv_bfloat16, true>(xb, rows, cols, o, scales, s);
        else launch_row_quantize<__nv_bfloat16>(xb, rows, cols, o, scales, s);
    } else {
        auto* xf = static_cast<const float*>(x);
        if (gelu) launch_row_quantize<float, true>(xf, rows, cols, o, scales, s);
        else launch_row_quantize<float>(xf, rows, cols, o, scales, s);
    }
    return vg::launch_check(fn);
}

}  // namespace

extern "C" {

VG_API vg_status vg_quantize_fp8_rows(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* out,
                                      float* scales, void* stream) {
    VG_GUARD_BEGIN
    return quantize_rows("vg_quantize_fp8_rows", false, x, x_dtype, rows, cols, out, scales, stream);
    VG_GUARD_END("vg_quantize_fp8_rows")
}

VG_API vg_status vg_quantize_fp8_rows_gelu(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols, void* out,
                                           float* scales, void* stream) {
    VG_GUARD_BEGIN
    return quantize_rows("vg_quantize_fp8_rows_gelu", true, x, x_dtype, rows, cols, out, scales, stream);
    VG_GUARD_END("vg_quantize_fp8_rows_gelu")
}

VG_API vg_status vg_quantize_fp8_tensor(const void* x, vg_dtype x_dtype, int64_t count, const float* static_scale,
                                        void* out, float* scale, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_quantize_fp8_tensor";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!x || !out || !scale) return bad("x, out and scale must not be NULL");
    if (count <= 0 || count % 8) return bad("count " + std::to_string(count) + " must be a positive multiple of 8");
    if (!vg::aligned16(x) || !vg::aligned16(out) || !vg::aligned16(scale))
        return bad("x, out and scale must be 16-byte aligned");
    if (x_dtype != VG_DTYPE_BF16 && x_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": x_dtype " + vg::dtype_name(x_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    const int64_t vecs = count / 8;
    const int grid = vg::stride_grid(vecs);
    if (x_dtype == VG_DTYPE_BF16) {
        auto* xb = static_cast<const __nv_bfloat16*>(x);
        if (!static_scale) {
            vg::reset_amax<<<1, 32, 0, s>>>(scale + VG_FP8_TENSOR_AMAX);
            vg::tensor_amax<<<grid, 256, 0, s>>>(xb, vecs, scale + VG_FP8_TENSOR_AMAX);
        }
        tensor_quantize<<<grid, 256, 0, s>>>(xb, vecs, static_scale, scale, static_cast<uint2*>(out));
    } else {
        auto* xf = static_cast<const float*>(x);
        if (!static_scale) {
            vg::reset_amax<<<1, 32, 0, s>>>(scale + VG_FP8_TENSOR_AMAX);
            vg::tensor_amax<<<grid, 256, 0, s>>>(xf, vecs, scale + VG_FP8_TENSOR_AMAX);
        }
        tensor_quantize<<<grid, 256, 0, s>>>(xf, vecs, static_scale, scale, static_cast<uint2*>(out));
    }
    return vg::launch_check(fn);
    VG_GUARD_END("vg_quantize_fp8_tensor")
}

VG_API vg_status vg_quantize_fp8_groups(const void* x, vg_dtype x_dtype, int64_t rows, int64_t cols,
                                        int64_t padded_rows, void* out, float* scales, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_quantize_fp8_groups";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": " + m); };
    if (!x || !out || !scales) return bad("x, out and scales must not be NULL");
    if (rows <= 0 || cols <= 0 || cols % kGroup)
        return bad("rows must be positive and cols a positive multiple of 128 (got " + std::to_string(rows) + ", " +
                   std::to_string(cols) + ")");
    if (padded_rows < rows || padded_rows % 4)
        return bad("padded_rows " + std::to_string(padded_rows) + " must be >= rows and a multiple of 4");
    if (!vg::aligned16(x) || !vg::aligned16(out) || !vg::aligned16(scales))
        return bad("x, out and scales must be 16-byte aligned");
    if (x_dtype != VG_DTYPE_BF16 && x_dtype != VG_DTYPE_FP32)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": x_dtype " + vg::dtype_name(x_dtype) + " (bf16 or fp32)");
    auto s = static_cast<cudaStream_t>(stream);
    const int64_t warps = padded_rows * (cols / kGroup);
    const int64_t blocks = (warps * 32 + 255) / 256;
    if (blocks > 0x7fffffffLL) return bad("too many rows");
    auto* o = static_cast<uint8_t*>(out);
    if (x_dtype == VG_DTYPE_BF16)
        group_quantize<<<static_cast<unsigned>(blocks), 256, 0, s>>>(static_cast<const __nv_bfloat16*>(x), rows, cols,
                                                                     padded_rows, o, scales);
    else
        group_quantize<<<static_cast<unsigned>(blocks), 256, 0, s>>>(static_cast<const float*>(x), rows, cols,
                                                                     padded_rows, o, scales);
    return vg::launch_check(fn);
    VG_GUARD_END("vg_quantize_fp8_groups")
}

}  // extern "C"

namespace vg {

__global__ void reset_amax(float* slot) {
    if (threadIdx.x == 0) *slot = 0.0f;
}

}  // namespace vg
