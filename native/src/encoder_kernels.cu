// Small kernels that text encoders and VAEs need: embedding lookup by device token ids, the channel-first L2
// normalization of Wan's VAE (F.normalize over channels, times a per-channel weight), AutoencoderKL's GroupNorm (with
// the SiLU that follows it), and the ArgMax of CLIP's pooled output (the EOS position of the token ids).
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

// One block per (batch, group); the group's (channels/groups)·inner values are contiguous. Three passes: the mean, the
// variance of the centred values (two-pass, no cancellation), then normalize + affine (+ SiLU). Per-thread partial
// sums in double, the block sum in float. Each element is read and written by the same thread: out may alias x.
template <typename TX, typename TO>
__global__ void group_norm_kernel(const TX* x, TO* out, int64_t channels, int64_t inner, int64_t groups, float eps,
                                  const float* w, const float* bias, int silu) {
    __shared__ float scratch[32];
    const int64_t bg = blockIdx.x;  // batch * groups + group
    const int64_t cpg = channels / groups, len = cpg * inner, c0 = (bg % groups) * cpg;
    const TX* xg = x + bg * len;
    TO* og = out + bg * len;
    double s = 0.0;
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) s += static_cast<double>(vg::to_float(xg[i]));
    const float mean = vg::block_sum(static_cast<float>(s), scratch) / static_cast<float>(len);
    double q = 0.0;
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
        const double d = static_cast<double>(vg::to_float(xg[i])) - static_cast<double>(mean);
        q += d * d;
    }
    const float var = vg::block_sum(static_cast<float>(q), scratch) / static_cast<float>(len);
    const float rstd = rsqrtf(var + eps);
#pragma unroll 4
    for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
        const int64_t c = c0 + i / inner;
        float y = (vg::to_float(xg[i]) - mean) * rstd;
        if (w) y *= w[c];
        if (bias) y += bias[c];
        if (silu) y = y / (1.0f + expf(-y));
        og[i] = vg::from_float<TO>(y);
    }
}

__device__ __forceinline__ float argmax_key(float v) { return v; }
__device__ __forceinline__ float argmax_key(bf v) { return __bfloat162float(v); }
__device__ __forceinline__ int64_t argmax_key(int64_t v) { return v; }

// One thread per output (outer · inner of them), a serial scan over n (a token count).
template <typename T>
__global__ void argmax_kernel(const T* x, int64_t outer, int64_t n, int64_t inner, int last, int64_t* out) {
    const int64_t total = outer * inner;
    for (int64_t r = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; r < total; r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t o = r / inner, i = r % inner;
        const T* p = x + o * n * inner + i;
        auto best = argmax_key(p[0]);
        int64_t at = 0;
        for (int64_t j = 1; j < n; ++j) {
            const auto v = argmax_key(p[j * inner]);
            if (v > best || (last && v == best)) {
                best = v;
                at = j;
            }
        }
        out[r] = at;
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

VG_API vg_status vg_group_norm(const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype, int64_t batch, int64_t channels,
                               int64_t inner, int64_t groups, float eps, const float* weight, const float* bias, int32_t silu,
                               void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_group_norm: " + m); };
    if (!x || !out) return bad("x and out must not be NULL");
    if (batch <= 0 || channels <= 0 || inner <= 0 || groups <= 0) return bad("sizes must be positive");
    if (channels % groups != 0)
        return bad(std::to_string(channels) + " channels are not divisible into " + std::to_string(groups) + " groups");
    if (batch * groups > INT32_MAX) return bad("too many (batch, group) pairs for one launch");
    auto ok = [](vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; };
    if (!ok(x_dtype) || !ok(out_dtype)) return bad("dtypes must be FP32 or BF16");
    if (x == out && x_dtype != out_dtype) return bad("out may alias x only with the same dtype");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const unsigned blocks = static_cast<unsigned>(batch * groups);
    const int threads = 512;
    const int act = silu ? 1 : 0;
    if (x_dtype == VG_DTYPE_FP32 && out_dtype == VG_DTYPE_FP32)
        group_norm_kernel<<<blocks, threads, 0, s>>>(static_cast<const float*>(x), static_cast<float*>(out), channels, inner, groups, eps, weight, bias, act);
    else if (x_dtype == VG_DTYPE_FP32)
        group_norm_kernel<<<blocks, threads, 0, s>>>(static_cast<const float*>(x), static_cast<bf*>(out), channels, inner, groups, eps, weight, bias, act);
    else if (out_dtype == VG_DTYPE_FP32)
        group_norm_kernel<<<blocks, threads, 0, s>>>(static_cast<const bf*>(x), static_cast<float*>(out), channels, inner, groups, eps, weight, bias, act);
    else
        group_norm_kernel<<<blocks, threads, 0, s>>>(static_cast<const bf*>(x), static_cast<bf*>(out), channels, inner, groups, eps, weight, bias, act);
    return vg::launch_check("vg_group_norm kernel");
    VG_GUARD_END("vg_group_norm")
}

VG_API vg_status vg_argmax(const void* x, vg_dtype x_dtype, int64_t outer, int64_t n, int64_t inner, int32_t select_last,
                           int64_t* out, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!x || !out) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_argmax: x and out must not be NULL");
    if (outer <= 0 || n <= 0 || inner <= 0) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_argmax: sizes must be positive");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const unsigned g = blocks_for(outer * inner);
    const int last = select_last ? 1 : 0;
    if (x_dtype == VG_DTYPE_FP32)
        argmax_kernel<<<g, 256, 0, s>>>(static_cast<const float*>(x), outer, n, inner, last, out);
    else if (x_dtype == VG_DTYPE_BF16)
        argmax_kernel<<<g, 256, 0, s>>>(static_cast<const bf*>(x), outer, n, inner, last, out);
    else if (x_dtype == VG_DTYPE_INT64)
        argmax_kernel<<<g, 256, 0, s>>>(static_cast<const int64_t*>(x), outer, n, inner, last, out);
    else
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_argmax: x dtype must be FP32, BF16 or INT64");
    return vg::launch_check("vg_argmax kernel");
    VG_GUARD_END("vg_argmax")
}
