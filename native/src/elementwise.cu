// Elementwise glue: gated residual, unary activations/casts, binary ops with last-dim broadcast.
#include "internal.h"
#include "vec.cuh"

namespace {

using bf = __nv_bfloat16;

int grid_for(int64_t work, int threads) {
    int64_t blocks = (work + threads - 1) / threads;
    return static_cast<int>(blocks < 1 ? 1 : (blocks > 65536 ? 65536 : blocks));
}

bool is_f32_or_bf16(vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; }

// ---- gated residual ----------------------------------------------------------------------------
template <typename TX, typename TY>
__global__ void gated_residual_kernel(const TX* x, const TY* y, vg_row_vector gate, TX* out, int64_t rows,
                                      int64_t tokens, int64_t channels) {
    const int64_t vpr = channels / 8, total = rows * vpr;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / vpr, c = (i % vpr) * 8, b = row / tokens, t = row % tokens;
        float xv[8], yv[8], g[8];
        vg::load8(x + row * channels + c, xv);
        vg::load8(y + row * channels + c, yv);
        vg::load8_any(gate.ptr, b * gate.batch_stride + t * gate.token_stride + c, gate.dtype, g);
#pragma unroll
        for (int k = 0; k < 8; ++k) xv[k] = fmaf(yv[k], g[k], xv[k]);  // one rounding (vg_residual_norm's too)
        vg::store8(out + row * channels + c, xv);
    }
}

// ---- linear combination (denoising loop) --------------------------------------------------------
struct combine_terms {
    const float* src[VG_COMBINE_MAX_TERMS];
    double coef[VG_COMBINE_MAX_TERMS];
    int n;
};

__global__ void combine_kernel(float* out, int64_t count, combine_terms t) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        double v = 0;
        for (int k = 0; k < t.n; ++k) v += t.coef[k] * static_cast<double>(t.src[k][i]);
        out[i] = static_cast<float>(v);
    }
}

// ---- L1 distance (Cache-DiT's relative L1 between residuals) -------------------------------------
__global__ void l1_distance_kernel(const float* a, const float* b, int64_t n, double* sums) {
    __shared__ double scratch[32];
    double d = 0, r = 0;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const double x = a[i], y = b[i];
        d += fabs(x - y);
        r += fabs(y);
    }
    d = vg::block_sum(d, scratch);
    r = vg::block_sum(r, scratch);
    if (threadIdx.x == 0) {
        atomicAdd(sums, d);
        atomicAdd(sums + 1, r);
    }
}

// ---- row norm rescale (true CFG with norm rescaling) ---------------------------------------------
constexpr int kRescaleMaxThreads = 256;


__global__ void rescale_row_norms_kernel(float* out, const float* src, const float* ref, int64_t rows, int64_t len) {
    __shared__ double scratch[kRescaleMaxThreads / 32];
    for (int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const float* s = src + row * len;
        const float* r = ref + row * len;
        double ss = 0, rr = 0;
        for (int64_t i = threadIdx.x; i < len; i += blockDim.x) {
            const double a = s[i], b = r[i];
            ss += a * a;
            rr += b * b;
        }
        ss = vg::block_sum(ss, scratch);
        rr = vg::block_sum(rr, scratch);
        // float32 norms, ratio and product, as torch computes x * (norm(ref) / norm(x)) on float32 tensors
        const float ratio = static_cast<float>(sqrt(rr)) / static_cast<float>(sqrt(ss));
        // every read of this row happened before block_sum's barriers, so out may alias src or ref
        for (int64_t i = threadIdx.x; i < len; i += blockDim.x) out[row * len + i] = s[i] * ratio;
    }
}

// ---- unary ---------------------------------------------------------------------------------------
__device__ __forceinline__ float apply_unary(vg_unary_op op, float x) {
    switch (op) {
        case VG_UNARY_GELU_TANH: {
            const float k0 = 0.7978845608028654f, k1 = 0.044715f;
            return 0.5f * x * (1.0f + tanhf(k0 * (x + k1 * x * x * x)));
        }
        case VG_UNARY_GELU_ERF: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
        case VG_UNARY_SILU: return x / (1.0f + __expf(-x));
        default: return x;
    }
}

template <typename TI, typename TO>
__global__ void unary_vec_kernel(vg_unary_op op, const TI* x, TO* out, int64_t vecs) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float v[8];
        vg::load8(x + i * 8, v);
#pragma unroll
        for (int k = 0; k < 8; ++k) v[k] = apply_unary(op, v[k]);
        vg::store8(out + i * 8, v);
    }
}

template <typename TI, typename TO>
__global__ void unary_scalar_kernel(vg_unary_op op, const TI* x, TO* out, int64_t count) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < count;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x)
        out[i] = vg::from_float<TO>(apply_unary(op, vg::to_float(x[i])));
}

template <typename TI, typename TO>
vg_status launch_unary(vg_unary_op op, const void* x, void* out, int64_t count, cudaStream_t st) {
    const TI* xi = static_cast<const TI*>(x);
    TO* o = static_cast<TO*>(out);
    if (count % 8 == 0 && vg::aligned16(x) && vg::aligned16(out)) {
        unary_vec_kernel<TI, TO><<<grid_for(count / 8, 256), 256, 0, st>>>(op, xi, o, count / 8);
        return vg::launch_check("unary_vec_kernel");
    }
    unary_scalar_kernel<TI, TO><<<grid_for(count, 256), 256, 0, st>>>(op, xi, o, count);
    return vg::launch_check("unary_scalar_kernel");
}

// ---- binary --------------------------------------------------------------------------------------
__device__ __forceinline__ float apply_binary(vg_binary_op op, float a, float b) {
    switch (op) {
        case VG_BINARY_ADD: return a + b;
        case VG_BINARY_MUL: return a * b;
        default: return a - b;
    }
}

template <typename TA, typename TB>
__global__ void binary_vec_kernel(vg_binary_op op, const TA* a, const TB* b, int64_t b_row_stride, TA* out,
                                  int64_t rows, int64_t channels) {
    const int64_t vpr = channels / 8, total = rows * vpr;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / vpr, c = (i % vpr) * 8;
        float av[8], bv[8];
        vg::load8(a + row * channels + c, av);
        vg::load8(b + row * b_row_stride + c, bv);
#pragma unroll
        for (int k = 0; k < 8; ++k) av[k] = apply_binary(op, av[k], bv[k]);
        vg::store8(out + row * channels + c, av);
    }
}

template <typename TA, typename TB>
__global__ void binary_scalar_kernel(vg_binary_op op, const TA* a, const TB* b, int64_t b_row_stride, TA* out,
                                     int64_t rows, int64_t channels) {
    const int64_t total = rows * channels;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const int64_t row = i / channels, c = i % channels;
        out[i] = vg::from_float<TA>(apply_binary(op, vg::to_float(a[i]), vg::to_float(b[row * b_row_stride + c])));
    }
}

template <typename TA, typename TB>
vg_status launch_binary(vg_binary_op op, const void* a, const void* b, int64_t bs, void* out, int64_t rows,
                        int64_t channels, cudaStream_t st) {
    auto* ap = static_cast<const TA*>(a);
    auto* bp = static_cast<const TB*>(b);
    auto* op_ = static_cast<TA*>(out);
    if (channels % 8 == 0 && bs % 8 == 0 && vg::aligned16(a) && vg::aligned16(b) && vg::aligned16(out)) {
        binary_vec_kernel<TA, TB><<<grid_for(rows * channels / 8, 256), 256, 0, st>>>(op, ap, bp, bs, op_, rows, channels);
        return vg::launch_check("binary_vec_kernel");
    }
    binary_scalar_kernel<TA, TB><<<grid_for(rows * channels, 256), 256, 0, st>>>(op, ap, bp, bs, op_, rows, channels);
    return vg::launch_check("binary_scalar_kernel");
}

}  // namespace

extern "C" {

VG_API vg_status vg_gated_residual(const void* x, vg_dtype x_dtype, const void* y, vg_dtype y_dtype,
                                   const vg_row_vector* gate, void* out, int64_t rows, int64_t tokens,
                                   int64_t channels, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_gated_residual";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!x || !y || !out || !gate || !gate->ptr) return bad("x, y, out and gate->ptr must not be NULL");
    if (!is_f32_or_bf16(x_dtype) || !is_f32_or_bf16(y_dtype) || !is_f32_or_bf16(gate->dtype))
        return bad("x_dtype, y_dtype and gate->dtype must be fp32 or bf16");
    if (rows <= 0 || tokens <= 0 || channels <= 0 || rows % tokens)
        return bad("rows, tokens, channels must be positive and rows a multiple of tokens");
    if (channels % 8) return bad("channels " + std::to_string(channels) + " is not a multiple of 8");
    if (!vg::aligned16(x) || !vg::aligned16(y) || !vg::aligned16(out) || !vg::aligned16(gate->ptr))
        return bad("x, y, out and gate->ptr must be 16-byte aligned");
    if (gate->batch_stride % 8 || gate->token_stride % 8 || gate->batch_stride < 0 || gate->token_stride < 0)
        return bad("gate strides must be non-negative multiples of 8");
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    int g = grid_for(rows * channels / 8, 256);
    if (x_dtype == VG_DTYPE_BF16 && y_dtype == VG_DTYPE_BF16)
        gated_residual_kernel<bf, bf><<<g, 256, 0, st>>>(static_cast<const bf*>(x), static_cast<const bf*>(y), *gate,
                                                         static_cast<bf*>(out), rows, tokens, channels);
    else if (x_dtype == VG_DTYPE_BF16)
        gated_residual_kernel<bf, float><<<g, 256, 0, st>>>(static_cast<const bf*>(x), static_cast<const float*>(y),
                                                            *gate, static_cast<bf*>(out), rows, tokens, channels);
    else if (y_dtype == VG_DTYPE_BF16)
        gated_residual_kernel<float, bf><<<g, 256, 0, st>>>(static_cast<const float*>(x), static_cast<const bf*>(y),
                                                            *gate, static_cast<float*>(out), rows, tokens, channels);
    else
        gated_residual_kernel<float, float><<<g, 256, 0, st>>>(static_cast<const float*>(x),
                                                               static_cast<const float*>(y), *gate,
                                                               static_cast<float*>(out), rows, tokens, channels);
    return vg::launch_check("gated_residual_kernel");
    VG_GUARD_END("vg_gated_residual")
}

VG_API vg_status vg_unary(vg_unary_op op, const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype,
                          int64_t count, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_unary";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (op < VG_UNARY_GELU_TANH || op > VG_UNARY_IDENTITY) return bad("op is not a vg_unary_op");
    if (!x || !out) return bad("x and out must not be NULL");
    if (!is_f32_or_bf16(x_dtype) || !is_f32_or_bf16(out_dtype)) return bad("dtypes must be fp32 or bf16");
    if (count <= 0) return bad("count must be positive");
    if (x == out && x_dtype != out_dtype) return bad("out may alias x only when the dtypes match");
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    if (x_dtype == VG_DTYPE_BF16 && out_dtype == VG_DTYPE_BF16) return launch_unary<bf, bf>(op, x, out, count, st);
    if (x_dtype == VG_DTYPE_BF16) return launch_unary<bf, float>(op, x, out, count, st);
    if (out_dtype == VG_DTYPE_BF16) return launch_unary<float, bf>(op, x, out, count, st);
    return launch_unary<float, float>(op, x, out, count, st);
    VG_GUARD_END("vg_unary")
}

VG_API vg_status vg_binary(vg_binary_op op, const void* a, vg_dtype a_dtype, const void* b, vg_dtype b_dtype,
                           int64_t b_row_stride, void* out, int64_t rows, int64_t channels, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_binary";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (op < VG_BINARY_ADD || op > VG_BINARY_SUB) return bad("op is not a vg_binary_op");
    if (!a || !b || !out) return bad("a, b and out must not be NULL");
    if (!is_f32_or_bf16(a_dtype) || !is_f32_or_bf16(b_dtype)) return bad("dtypes must be fp32 or bf16");
    if (rows <= 0 || channels <= 0) return bad("rows and channels must be positive");
    if (b_row_stride != 0 && b_row_stride < channels) return bad("b_row_stride must be 0 (broadcast) or >= channels");
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    if (a_dtype == VG_DTYPE_BF16 && b_dtype == VG_DTYPE_BF16)
        return launch_binary<bf, bf>(op, a, b, b_row_stride, out, rows, channels, st);
    if (a_dtype == VG_DTYPE_BF16) return launch_binary<bf, float>(op, a, b, b_row_stride, out, rows, channels, st);
    if (b_dtype == VG_DTYPE_BF16) return launch_binary<float, bf>(op, a, b, b_row_stride, out, rows, channels, st);
    return launch_binary<float, float>(op, a, b, b_row_stride, out, rows, channels, st);
    VG_GUARD_END("vg_binary")
}

VG_API vg_status vg_combine(float* out, int64_t count, int32_t terms, const double* coefs, const float* const* srcs,
                            void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_combine";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!out || !coefs || !srcs) return bad("out, coefs and srcs must not be NULL");
    if (terms < 1 || terms > VG_COMBINE_MAX_TERMS) return bad("terms must be 1.." + std::to_string(VG_COMBINE_MAX_TERMS));
    if (count <= 0) return bad("count must be positive");
    combine_terms t{};
    t.n = terms;
    for (int k = 0; k < terms; ++k) {
        if (!srcs[k]) return bad("srcs[" + std::to_string(k) + "] is NULL");
        t.src[k] = srcs[k];
        t.coef[k] = coefs[k];
    }
    combine_kernel<<<grid_for(count, 256), 256, 0, static_cast<cudaStream_t>(stream)>>>(out, count, t);
    return vg::launch_check("combine_kernel");
    VG_GUARD_END("vg_combine")
}

VG_API vg_status vg_rescale_row_norms(float* out, const float* src, const float* ref, int64_t rows, int64_t row_length,
                                      void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_rescale_row_norms";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!out || !src || !ref) return bad("out, src and ref must not be NULL");
    if (rows <= 0 || row_length <= 0) return bad("rows and row_length must be positive");
    // a warp per 32 elements of a row, at most kRescaleMaxThreads threads striding over longer rows
    const int64_t warps = (row_length + 31) / 32;
    const int threads = static_cast<int>(warps * 32 < kRescaleMaxThreads ? warps * 32 : kRescaleMaxThreads);
    const int blocks = static_cast<int>(rows < 65536 ? rows : 65536);
    rescale_row_norms_kernel<<<blocks, threads, 0, static_cast<cudaStream_t>(stream)>>>(out, src, ref, rows, row_length);
    return vg::launch_check("rescale_row_norms_kernel");
    VG_GUARD_END("vg_rescale_row_norms")
}

VG_API vg_status vg_l1_distance(const float* a, const float* b, int64_t n, double* sums, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    if (!a || !b || !sums) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_l1_distance: a, b and sums must not be NULL");
    if (n <= 0) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_l1_distance: n must be positive");
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    VG_TRY(vg::cuda_check(cudaMemsetAsync(sums, 0, 2 * sizeof(double), s), "vg_l1_distance: cudaMemsetAsync"));
    const int64_t want = (n + 256 * 8 - 1) / (256 * 8);
    const int blocks = static_cast<int>(want < 4096 ? want : 4096);
    l1_distance_kernel<<<blocks, 256, 0, s>>>(a, b, n, sums);
    return vg::launch_check("l1_distance_kernel");
    VG_GUARD_END("vg_l1_distance")
}

}  // extern "C"
