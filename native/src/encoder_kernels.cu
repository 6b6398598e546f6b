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

// GroupNorm in two kernels, so that a group's values (up to millions at a VAE's full resolution) are spread over many
// blocks. gn_stats: each block sums a slice of one (batch, group), shifted by the group's first value (the pivot:
// no cancellation when the mean is large against the spread), in double; slice sums go to the workspace.
// gn_apply: one block per (batch·channel row, slice of the row) combines the group's slice sums into mean and rstd,
// then normalizes, applies the channel's affine (and SiLU) over its slice. Each element is read and written by the
// same thread and the pivot is kept in the workspace: out may alias x.
constexpr int kGnThreads = 256;
constexpr int64_t kGnStatsSlice = 16384;  // values per gn_stats block (at least)
constexpr int64_t kGnApplySlice = 8192;   // values per gn_apply block
constexpr int kGnMaxSlices = 512;


// Slices of a group for gn_stats: a multiple of 8 values each (vector loads stay aligned when the group is).
inline int64_t gn_slice(int64_t len, int slices) { return ((len + slices - 1) / slices + 7) / 8 * 8; }
inline int gn_slices(int64_t len) {
    int64_t n = len / kGnStatsSlice;
    return static_cast<int>(n < 1 ? 1 : n > kGnMaxSlices ? kGnMaxSlices : n);
}

template <typename TX>
__global__ void gn_stats_kernel(const TX* x, int64_t len, int slices, int64_t slice, bool vec, double* ws) {
    __shared__ double scratch[32];
    const int64_t bg = blockIdx.x / slices;
    const int sl = static_cast<int>(blockIdx.x % slices);
    const TX* xg = x + bg * len;
    const float pivot = vg::to_float(xg[0]);
    const int64_t begin = sl * slice, end = begin + slice < len ? begin + slice : len;
    double s1 = 0.0, s2 = 0.0;
    if (vec) {
        for (int64_t i = begin + 8 * static_cast<int64_t>(threadIdx.x); i < end; i += 8 * static_cast<int64_t>(blockDim.x)) {
            float v[8];
            vg::load8(xg + i, v);
            float a = 0.f, q = 0.f;
#pragma unroll
            for (int k = 0; k < 8; ++k) {
                const float d = v[k] - pivot;
                a += d;
                q += d * d;
            }
            s1 += a;
            s2 += q;
        }
    } else {
        for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) {
            const float d = vg::to_float(xg[i]) - pivot;
            s1 += d;
            s2 += static_cast<double>(d) * d;
        }
    }
    s1 = vg::block_sum(s1, scratch);
    s2 = vg::block_sum(s2, scratch);
    double* w = ws + bg * (1 + 2 * static_cast<int64_t>(slices));
    if (threadIdx.x == 0) {
        if (sl == 0) w[0] = pivot;
        w[1 + 2 * sl] = s1;
        w[2 + 2 * sl] = s2;
    }
}

template <typename TX, typename TO>
__global__ void gn_apply_kernel(const TX* x, TO* out, int64_t channels, int64_t inner, int64_t groups, int slices, float eps,
                                const float* w, const float* bias, int silu, const double* ws, int64_t row_blocks, bool vec) {
    __shared__ float coef[3];
    const int64_t row = blockIdx.x / row_blocks, part = blockIdx.x % row_blocks;
    const int64_t c = row % channels, cpg = channels / groups, bg = (row / channels) * groups + c / cpg;
    if (threadIdx.x < 32) {
        const double* g = ws + bg * (1 + 2 * static_cast<int64_t>(slices));
        double s1 = 0.0, s2 = 0.0;
        for (int k = threadIdx.x; k < slices; k += 32) {
            s1 += g[1 + 2 * k];
            s2 += g[2 + 2 * k];
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            s1 += __shfl_xor_sync(0xffffffffu, s1, o);
            s2 += __shfl_xor_sync(0xffffffffu, s2, o);
        }
        if (threadIdx.x == 0) {
            const double n = static_cast<double>(cpg * inner), md = s1 / n;
            double var = s2 / n - md * md;
            if (var < 0) var = 0;
            const float rstd = rsqrtf(static_cast<float>(var) + eps);
            coef[0] = static_cast<float>(g[0] + md);               // mean
            coef[1] = rstd * (w ? w[c] : 1.0f);                    // scale
            coef[2] = bias ? bias[c] : 0.0f;                       // shift
        }
    }
    __syncthreads();
    const float mean = coef[0], scale = coef[1], shift = coef[2];
    const TX* xr = x + row * inner;
    TO* orow = out + row * inner;
    const int64_t begin = part * kGnApplySlice, end = begin + kGnApplySlice < inner ? begin + kGnApplySlice : inner;
    auto f = [&](float v) {
        float y = (v - mean) * scale + shift;
        return silu ? y / (1.0f + __expf(-y)) : y;
    };
    if (vec) {
        for (int64_t i = begin + 8 * static_cast<int64_t>(threadIdx.x); i < end; i += 8 * static_cast<int64_t>(blockDim.x)) {
            float v[8];
            vg::load8(xr + i, v);
#pragma unroll
            for (int k = 0; k < 8; ++k) v[k] = f(v[k]);
            vg::store8(orow + i, v);
        }
    } else {
        for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) orow[i] = vg::from_float<TO>(f(vg::to_float(xr[i])));
    }
}

// y[row, i] += bias[row % channels] over rows of `inner` values (a convolution's per-output-channel bias).
template <typename TY, typename TB>
__global__ void channel_bias_kernel(TY* y, const TB* bias, int64_t channels, int64_t inner, int64_t row_blocks, bool vec) {
    const int64_t row = blockIdx.x / row_blocks, part = blockIdx.x % row_blocks;
    const float b = vg::to_float(bias[row % channels]);
    TY* yr = y + row * inner;
    const int64_t begin = part * kGnApplySlice, end = begin + kGnApplySlice < inner ? begin + kGnApplySlice : inner;
    if (vec) {
        for (int64_t i = begin + 8 * static_cast<int64_t>(threadIdx.x); i < end; i += 8 * static_cast<int64_t>(blockDim.x)) {
            float v[8];
            vg::load8(yr + i, v);
#pragma unroll
            for (int k = 0; k < 8; ++k) v[k] += b;
            vg::store8(yr + i, v);
        }
    } else {
        for (int64_t i = begin + threadIdx.x; i < end; i += blockDim.x) yr[i] = vg::from_float<TY>(vg::to_float(yr[i]) + b);
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

VG_API vg_status vg_group_norm_workspace_size(int64_t batch, int64_t channels, int64_t inner, int64_t groups, size_t* bytes) {
    vg::clear_error();
    if (!bytes) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_group_norm_workspace_size: bytes must not be NULL");
    if (batch <= 0 || channels <= 0 || inner <= 0 || groups <= 0 || channels % groups != 0)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_group_norm_workspace_size: sizes must be positive, channels divisible by groups");
    const int64_t len = channels / groups * inner;
    *bytes = static_cast<size_t>(batch * groups * (1 + 2 * static_cast<int64_t>(gn_slices(len))) * sizeof(double));
    return VG_OK;
}

VG_API vg_status vg_group_norm(const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype, int64_t batch, int64_t channels,
                               int64_t inner, int64_t groups, float eps, const float* weight, const float* bias, int32_t silu,
                               void* workspace, size_t workspace_bytes, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_group_norm: " + m); };
    if (!x || !out) return bad("x and out must not be NULL");
    if (batch <= 0 || channels <= 0 || inner <= 0 || groups <= 0) return bad("sizes must be positive");
    if (channels % groups != 0)
        return bad(std::to_string(channels) + " channels are not divisible into " + std::to_string(groups) + " groups");
    auto ok = [](vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; };
    if (!ok(x_dtype) || !ok(out_dtype)) return bad("dtypes must be FP32 or BF16");
    if (x == out && x_dtype != out_dtype) return bad("out may alias x only with the same dtype");
    size_t need = 0;
    VG_TRY(vg_group_norm_workspace_size(batch, channels, inner, groups, &need));
    if (!workspace || workspace_bytes < need)
        return bad("workspace of " + std::to_string(workspace_bytes) + " bytes, it needs " + std::to_string(need) +
                   " (vg_group_norm_workspace_size)");
    const int64_t len = channels / groups * inner;
    const int slices = gn_slices(len);
    const int64_t slice = gn_slice(len, slices), row_blocks = (inner + kGnApplySlice - 1) / kGnApplySlice;
    const int64_t stats_blocks = batch * groups * slices, apply_blocks = batch * channels * row_blocks;
    if (stats_blocks > INT32_MAX || apply_blocks > INT32_MAX) return bad("too many values for one launch");
    // vector loads: every row (and so every group and slice) starts 8-aligned, the buffers 16-byte aligned
    const bool vec = inner % 8 == 0 && vg::aligned16(x) && vg::aligned16(out);
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    double* ws = static_cast<double*>(workspace);
    const int act = silu ? 1 : 0;
    const unsigned sb = static_cast<unsigned>(stats_blocks), ab = static_cast<unsigned>(apply_blocks);
    if (x_dtype == VG_DTYPE_FP32)
        gn_stats_kernel<<<sb, kGnThreads, 0, s>>>(static_cast<const float*>(x), len, slices, slice, vec, ws);
    else
        gn_stats_kernel<<<sb, kGnThreads, 0, s>>>(static_cast<const bf*>(x), len, slices, slice, vec, ws);
    VG_TRY(vg::launch_check("vg_group_norm statistics kernel"));
#define VG_GN_APPLY(TX, TO)                                                                                               \
    gn_apply_kernel<<<ab, kGnThreads, 0, s>>>(static_cast<const TX*>(x), static_cast<TO*>(out), channels, inner, groups, \
                                              slices, eps, weight, bias, act, ws, row_blocks, vec)
    if (x_dtype == VG_DTYPE_FP32 && out_dtype == VG_DTYPE_FP32) VG_GN_APPLY(float, float);
    else if (x_dtype == VG_DTYPE_FP32) VG_GN_APPLY(float, bf);
    else if (out_dtype == VG_DTYPE_FP32) VG_GN_APPLY(bf, float);
    else VG_GN_APPLY(bf, bf);
#undef VG_GN_APPLY
    return vg::launch_check("vg_group_norm kernel");
    VG_GUARD_END("vg_group_norm")
}

namespace vg {
vg_status add_channel_bias(void* y, vg_dtype y_dtype, const void* bias, vg_dtype bias_dtype, int64_t rows, int64_t channels,
                           int64_t inner, cudaStream_t s) {
    const int64_t row_blocks = (inner + kGnApplySlice - 1) / kGnApplySlice;
    if (rows * row_blocks > INT32_MAX) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "convolution bias: too many values for one launch");
    const unsigned blocks = static_cast<unsigned>(rows * row_blocks);
    const bool vec = inner % 8 == 0 && vg::aligned16(y);
    if (y_dtype == VG_DTYPE_BF16 && bias_dtype == VG_DTYPE_BF16)
        channel_bias_kernel<<<blocks, kGnThreads, 0, s>>>(static_cast<bf*>(y), static_cast<const bf*>(bias), channels, inner, row_blocks, vec);
    else if (y_dtype == VG_DTYPE_BF16)
        channel_bias_kernel<<<blocks, kGnThreads, 0, s>>>(static_cast<bf*>(y), static_cast<const float*>(bias), channels, inner, row_blocks, vec);
    else if (bias_dtype == VG_DTYPE_BF16)
        channel_bias_kernel<<<blocks, kGnThreads, 0, s>>>(static_cast<float*>(y), static_cast<const bf*>(bias), channels, inner, row_blocks, vec);
    else
        channel_bias_kernel<<<blocks, kGnThreads, 0, s>>>(static_cast<float*>(y), static_cast<const float*>(bias), channels, inner, row_blocks, vec);
    return vg::launch_check("convolution bias kernel");
}
}  // namespace vg

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
