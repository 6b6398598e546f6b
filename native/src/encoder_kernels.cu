// Small kernels that text encoders and VAEs need: embedding lookup by device token ids, and the channel-first L2
// normalization of Wan's VAE (F.normalize over channels, times a per-channel weight).
#include <string>

#include "internal.h"
#include "vec.cuh"

namespace {

using bf = __nv_bfloat16;

template <typename T> __device__ __forceinline__ float ld(const T* p, int64_t i) { return vg::to_float(p[i]); }
template <typename T> __device__ __forceinline__ void st(T* p, int64_t i, float v) { p[i] = vg::from_float<T>(v); }

template <typename TT, typename TO>
__global__ void gather_kernel(const TT* table, int64_t rows, int64_t width, const int64_t* idx, int64_t count, TO* out) {
    const int64_t total = count * width;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t r = i / width, c = i % width;
        int64_t t = idx[r];
        t = t < 0 ? 0 : (t >= rows ? rows - 1 : t);
        st(out, i, ld(table, t * width + c));
    }
}

// One thread per (batch, inner position): two passes over the channels (stride `inner`), coalesced across threads.
template <typename T>
__global__ void channel_l2norm_kernel(const T* x, T* out, int64_t batch, int64_t channels, int64_t inner, float eps, const float* w) {
    const int64_t total = batch * inner;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t b = i / inner, s = i % inner;
        const int64_t base = b * channels * inner + s;
        float sum = 0.0f;
        for (int64_t c = 0; c < channels; ++c) { const float v = ld(x, base + c * inner); sum += v * v; }
        const float inv = 1.0f / fmaxf(sqrtf(sum), eps);
        for (int64_t c = 0; c < channels; ++c) st(out, base + c * inner, ld(x, base + c * inner) * inv * (w ? w[c] : 1.0f));
    }
}

unsigned blocks_for(int64_t total) {
    int64_t b = (total + 255) / 256;
    return static_cast<unsigned>(b > 65536 * 4 ? 65536 * 4 : (b < 1 ? 1 : b));
}

}  // namespace

VG_API vg_status vg_gather_rows(const void* table, vg_dtype table_dtype, int64_t rows, int64_t width, const int64_t* indices, int64_t count,
                                void* out, vg_dtype out_dtype, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!table || !indices || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gather_rows: table, indices and out must not be NULL");
    if (rows <= 0 || width <= 0 || count < 0) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gather_rows: rows and width must be positive");
    auto ok = [](vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; };
    if (!ok(table_dtype) || !ok(out_dtype)) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_gather_rows: dtypes must be FP32 or BF16");
    if (count == 0) return VG_OK;
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const unsigned g = blocks_for(count * width);
    if (table_dtype == VG_DTYPE_BF16 && out_dtype == VG_DTYPE_BF16)
        gather_kernel<<<g, 256, 0, s>>>(static_cast<const bf*>(table), rows, width, indices, count, static_cast<bf*>(out));
    else if (table_dtype == VG_DTYPE_BF16)
        gather_kernel<<<g, 256, 0, s>>>(static_cast<const bf*>(table), rows, width, indices, count, static_cast<float*>(out));
    else if (out_dtype == VG_DTYPE_BF16)
        gather_kernel<<<g, 256, 0, s>>>(static_cast<const float*>(table), rows, width, indices, count, static_cast<bf*>(out));
    else
        gather_kernel<<<g, 256, 0, s>>>(static_cast<const float*>(table), rows, width, indices, count, static_cast<float*>(out));
    return vg::launch_check("vg_gather_rows kernel");
    VG_GUARD_END("vg_gather_rows")
}

VG_API vg_status vg_channel_l2norm(const void* x, void* out, vg_dtype dtype, int64_t batch, int64_t channels, int64_t inner, float eps,
                                   const float* weight, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!x || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_channel_l2norm: x and out must not be NULL");
    if (batch <= 0 || channels <= 0 || inner <= 0) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_channel_l2norm: sizes must be positive");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const unsigned g = blocks_for(batch * inner);
    if (dtype == VG_DTYPE_FP32)
        channel_l2norm_kernel<<<g, 256, 0, s>>>(static_cast<const float*>(x), static_cast<float*>(out), batch, channels, inner, eps, weight);
    else if (dtype == VG_DTYPE_BF16)
        channel_l2norm_kernel<<<g, 256, 0, s>>>(static_cast<const bf*>(x), static_cast<bf*>(out), batch, channels, inner, eps, weight);
    else
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_channel_l2norm: dtype must be FP32 or BF16");
    return vg::launch_check("vg_channel_l2norm kernel");
    VG_GUARD_END("vg_channel_l2norm")
}
