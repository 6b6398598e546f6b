// LayerNorm / RMSNorm with optional affine parameters and AdaLN modulation, one block per row; the output in fp32 or
// bf16, or as FP8 E4M3 codes with one scale per row (the input of a dynamic FP8 linear, quantized as
// vg_quantize_fp8_rows quantizes it, without the bf16 round trip). vg_residual_norm first forms the residual sum the
// norm reads (x + y [* gate], stored as x's dtype) in the same pass.
#include "internal.h"
#include "vec.cuh"

namespace {

struct NormArgs {
    const void* x;
    void* out;
    int64_t x_stride, out_stride, rows, tokens, channels;
    float eps;
    int layer;  // 1 = LayerNorm, 0 = RMSNorm
    const void* weight;
    const void* bias;
    vg_dtype param_dtype;
    vg_row_vector scale, shift;
    int modulate;
    float* row_scales;  // FP8 output: the dequantization scale of each row
    const float* fixed_quant;  // FP8 output with one given factor (codes = y · *fixed_quant) instead of per-row scales
    // vg_residual_norm: x + y [* gate] is the norm's input, written to `sum` (x's dtype) as the norm reads it
    const void* y;
    vg_dtype y_dtype;
    vg_row_vector gate;
    int gated;
    void* sum;
};

// WARP_ROWS: each warp holds one row (rows of <= kWarpRowChannels, NV = 1), else the block holds one row. FP8 (TO =
// uint8_t): the row's values kept in registers, their max|y| reduced, then written as E4M3 codes with the row's scale.
template <typename TX, typename TO, int NV, bool WARP_ROWS, bool FP8 = false, bool RES = false>
__global__ void norm_modulate_kernel(NormArgs a) {
    __shared__ float scratch[32];
    const int64_t row = WARP_ROWS ? blockIdx.x * static_cast<int64_t>(blockDim.x / 32) + threadIdx.x / 32 : blockIdx.x;
    if (WARP_ROWS && row >= a.rows) return;  // whole warps only: no block-wide barrier in this mode
    const int tid = WARP_ROWS ? threadIdx.x & 31 : threadIdx.x, nthreads = WARP_ROWS ? 32 : blockDim.x;
    auto reduce = [&](float s) { return WARP_ROWS ? vg::warp_sum(s) : vg::block_sum(s, scratch); };
    const TX* x = static_cast<const TX*>(a.x) + row * a.x_stride;
    float v[NV][8];
    bool active[NV];
    float sum = vg::load_row<NV>(x, a.channels, v, active, false, tid, nthreads);
    if constexpr (RES) {
        // the residual x + y [* gate] in fp32, rounded to x's dtype as it is stored, is what the norm reads
        const int64_t b = row / a.tokens, t = row % a.tokens;
        TX* out_sum = static_cast<TX*>(a.sum) + row * a.channels;
        sum = 0.0f;
#pragma unroll
        for (int j = 0; j < NV; ++j) {
            if (!active[j]) continue;
            const int64_t c = vg::row_vec_offset(j, tid, nthreads);
            float yv[8], g[8];
            vg::load8_any(a.y, row * a.channels + c, a.y_dtype, yv);
            if (a.gated) vg::load8_any(a.gate.ptr, b * a.gate.batch_stride + t * a.gate.token_stride + c, a.gate.dtype, g);
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                // one rounding, as vg_gated_residual computes it (fmaf there too)
                const float r = a.gated ? fmaf(yv[i], g[i], v[j][i]) : v[j][i] + yv[i];
                v[j][i] = vg::to_float(vg::from_float<TX>(r));
                sum += v[j][i];
            }
            vg::store8(out_sum + c, v[j]);
        }
    }
    const float inv_c = 1.0f / static_cast<float>(a.channels);
    float mean = 0.0f;
    if (a.layer) mean = reduce(sum) * inv_c;
    float sq = 0.0f;
#pragma unroll
    for (int j = 0; j < NV; ++j)
        if (active[j])
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                float d = v[j][i] - mean;
                sq += d * d;
            }
    const float rstd = rsqrtf(reduce(sq) * inv_c + a.eps);
    const int64_t b = row / a.tokens, t = row % a.tokens;
    TO* out = static_cast<TO*>(a.out) + row * a.out_stride;
    float amax = 0.0f;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        if (!active[j]) continue;
        const int64_t c = vg::row_vec_offset(j, tid, nthreads);
        float y[8], p[8];
#pragma unroll
        for (int i = 0; i < 8; ++i) y[i] = (v[j][i] - mean) * rstd;
        if (a.weight) {
            vg::load8_any(a.weight, c, a.param_dtype, p);
#pragma unroll
            for (int i = 0; i < 8; ++i) y[i] *= p[i];
        }
        if (a.bias) {
            vg::load8_any(a.bias, c, a.param_dtype, p);
#pragma unroll
            for (int i = 0; i < 8; ++i) y[i] += p[i];
        }
        if (a.modulate) {
            float sc[8], sh[8];
            vg::load8_any(a.scale.ptr, b * a.scale.batch_stride + t * a.scale.token_stride + c, a.scale.dtype, sc);
            vg::load8_any(a.shift.ptr, b * a.shift.batch_stride + t * a.shift.token_stride + c, a.shift.dtype, sh);
#pragma unroll
            for (int i = 0; i < 8; ++i) y[i] = y[i] * (1.0f + sc[i]) + sh[i];
        }
        if constexpr (FP8) {
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                v[j][i] = y[i];
                amax = fmaxf(amax, fabsf(y[i]));
            }
        } else {
            vg::store8(out + c, y);
        }
    }
    if constexpr (FP8) {
        float qs;
        if (a.fixed_quant) {
            qs = *a.fixed_quant;  // uniform across the block: no barrier skipped by part of it
        } else {
            amax = WARP_ROWS ? vg::warp_max(amax) : vg::block_max(amax, scratch);
            qs = vg::e4m3_row_factor(amax);
            if (tid == 0) a.row_scales[row] = 1.0f / qs;
        }
#pragma unroll
        for (int j = 0; j < NV; ++j) {
            if (!active[j]) continue;
#pragma unroll
            for (int i = 0; i < 8; ++i) v[j][i] *= qs;
            *reinterpret_cast<uint2*>(out + vg::row_vec_offset(j, tid, nthreads)) = vg::pack8(v[j]);
        }
    }
}

template <typename TX, typename TO, bool FP8 = false, bool RES = false>
vg_status launch_norm(const NormArgs& a, cudaStream_t st) {
    if (a.channels <= vg::kWarpRowChannels) {
        const unsigned blocks = static_cast<unsigned>((a.rows + 7) / 8);
        norm_modulate_kernel<TX, TO, 1, true, FP8, RES><<<blocks, 256, 0, st>>>(a);
        return vg::launch_check("norm_modulate_kernel (warp rows)");
    }
    int nv = 1, threads = 32;
    vg::row_launch(a.channels, nv, threads);
    dim3 grid(static_cast<unsigned>(a.rows));
    if (nv == 1) norm_modulate_kernel<TX, TO, 1, false, FP8, RES><<<grid, threads, 0, st>>>(a);
    else if (nv == 2) norm_modulate_kernel<TX, TO, 2, false, FP8, RES><<<grid, threads, 0, st>>>(a);
    else norm_modulate_kernel<TX, TO, 4, false, FP8, RES><<<grid, threads, 0, st>>>(a);
    return vg::launch_check("norm_modulate_kernel");
}

bool is_f32_or_bf16(vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; }

__device__ __forceinline__ float ld1(const void* p, int64_t i, vg_dtype t) {
    return t == VG_DTYPE_BF16 ? __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]) : static_cast<const float*>(p)[i];
}

// The same function for any channel count, stride and alignment (the vectorized kernel needs multiples of 8 and
// 16-byte alignment): one block per row, element by element, x read three times (four with an FP8 output: the
// max|y| pass). fp32 math.
template <typename TX, typename TO, bool FP8 = false>
__global__ void norm_general_kernel(NormArgs a) {
    __shared__ float scratch[32];
    const int64_t row = blockIdx.x;
    const TX* x = static_cast<const TX*>(a.x) + row * a.x_stride;
    TO* out = static_cast<TO*>(a.out) + row * a.out_stride;
    const float inv_c = 1.0f / static_cast<float>(a.channels);
    float s = 0.0f;
    if (a.layer)
        for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) s += vg::to_float(x[c]);
    const float mean = a.layer ? vg::block_sum(s, scratch) * inv_c : 0.0f;
    float sq = 0.0f;
    for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) { const float d = vg::to_float(x[c]) - mean; sq += d * d; }
    const float rstd = rsqrtf(vg::block_sum(sq, scratch) * inv_c + a.eps);
    const int64_t b = row / a.tokens, t = row % a.tokens;
    auto value = [&](int64_t c) {
        float y = (vg::to_float(x[c]) - mean) * rstd;
        if (a.weight) y *= ld1(a.weight, c, a.param_dtype);
        if (a.bias) y += ld1(a.bias, c, a.param_dtype);
        if (a.modulate)
            y = y * (1.0f + ld1(a.scale.ptr, b * a.scale.batch_stride + t * a.scale.token_stride + c, a.scale.dtype)) +
                ld1(a.shift.ptr, b * a.shift.batch_stride + t * a.shift.token_stride + c, a.shift.dtype);
        return y;
    };
    if constexpr (FP8) {
        float m = 0.0f;
        for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) m = fmaxf(m, fabsf(value(c)));
        const float qs = vg::e4m3_row_factor(vg::block_max(m, scratch));
        if (threadIdx.x == 0) a.row_scales[row] = 1.0f / qs;
        for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x)
            out[c] = __nv_cvt_float_to_fp8(value(c) * qs, __NV_SATFINITE, __NV_E4M3);
    } else {
        for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) out[c] = vg::from_float<TO>(value(c));
    }
}

template <typename TX, typename TO, bool FP8 = false>
vg_status launch_general(const NormArgs& a, cudaStream_t st) {
    norm_general_kernel<TX, TO, FP8><<<static_cast<unsigned>(a.rows), 128, 0, st>>>(a);
    return vg::launch_check("norm_general_kernel");
}

// A modulation or gate vector the kernels can read at all, and with 8-element vector loads.
bool row_vector_valid(const vg_row_vector& r) {
    return r.ptr && is_f32_or_bf16(r.dtype) && r.batch_stride >= 0 && r.token_stride >= 0;
}
bool row_vector_vectorizable(const vg_row_vector& r) {
    return vg::aligned16(r.ptr) && r.batch_stride % 8 == 0 && r.token_stride % 8 == 0;
}

// The arguments both entry points check. Returns whether the vectorized kernels take them (else the general one).
vg_status prepare(const std::string& fn, vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride, void* out,
                  int64_t out_stride, int64_t rows, int64_t tokens, int64_t channels, float eps, const void* weight,
                  const void* bias, vg_dtype param_dtype, const vg_row_vector* scale, const vg_row_vector* shift,
                  NormArgs& a, bool& vectorized) {
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (kind != VG_NORM_LAYER && kind != VG_NORM_RMS) return bad("kind is not a vg_norm_kind");
    if (!x || !out) return bad("x and out must not be NULL");
    if (!is_f32_or_bf16(x_dtype)) return bad("x_dtype must be fp32 or bf16");
    if (rows <= 0 || tokens <= 0 || channels <= 0 || rows % tokens)
        return bad("rows, tokens, channels must be positive and rows a multiple of tokens");
    if (rows > 0x7fffffff) return bad("rows exceeds 2^31-1");
    if (!x_stride) x_stride = channels;
    if (!out_stride) out_stride = channels;
    if (x_stride < channels || out_stride < channels) return bad("x_stride/out_stride must be >= channels");
    if (bias && kind != VG_NORM_LAYER) return bad("bias is only defined for VG_NORM_LAYER");
    if ((weight || bias) && !is_f32_or_bf16(param_dtype)) return bad("param_dtype must be fp32 or bf16");
    if ((scale == nullptr) != (shift == nullptr)) return bad("scale and shift must be given together");
    for (const vg_row_vector* r : {scale, shift})
        if (r && !row_vector_valid(*r)) return bad("scale/shift need a ptr, dtype fp32/bf16 and non-negative strides");
    // the vectorized kernels take 8-channel vectors from 16-byte aligned rows; anything else runs the general kernel
    vectorized = channels % 8 == 0 && channels <= 32768 && x_stride % 8 == 0 && out_stride % 8 == 0 &&
                 vg::aligned16(x) && vg::aligned16(out) && (!weight || vg::aligned16(weight)) && (!bias || vg::aligned16(bias));
    for (const vg_row_vector* r : {scale, shift})
        if (r && !row_vector_vectorizable(*r)) vectorized = false;
    a = NormArgs{};
    a.x = x; a.out = out; a.x_stride = x_stride; a.out_stride = out_stride; a.rows = rows; a.tokens = tokens;
    a.channels = channels; a.eps = eps; a.layer = kind == VG_NORM_LAYER; a.weight = weight; a.bias = bias;
    a.param_dtype = param_dtype; a.modulate = scale != nullptr;
    if (scale) { a.scale = *scale; a.shift = *shift; }
    return VG_OK;
}

}  // namespace

extern "C" VG_API vg_status vg_norm_modulate(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                             void* out, vg_dtype out_dtype, int64_t out_stride, int64_t rows,
                                             int64_t tokens, int64_t channels, float eps, const void* weight,
                                             const void* bias, vg_dtype param_dtype, const vg_row_vector* scale,
                                             const vg_row_vector* shift, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_norm_modulate";
    vg::clear_error();
    if (!is_f32_or_bf16(out_dtype)) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": out_dtype must be fp32 or bf16");
    NormArgs a;
    bool vectorized = false;
    VG_TRY(prepare(fn, kind, x, x_dtype, x_stride, out, out_stride, rows, tokens, channels, eps, weight, bias, param_dtype,
                   scale, shift, a, vectorized));
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    using bf = __nv_bfloat16;
    if (!vectorized) {
        if (x_dtype == VG_DTYPE_BF16 && out_dtype == VG_DTYPE_BF16) return launch_general<bf, bf>(a, st);
        if (x_dtype == VG_DTYPE_BF16) return launch_general<bf, float>(a, st);
        if (out_dtype == VG_DTYPE_BF16) return launch_general<float, bf>(a, st);
        return launch_general<float, float>(a, st);
    }
    if (x_dtype == VG_DTYPE_BF16 && out_dtype == VG_DTYPE_BF16) return launch_norm<bf, bf>(a, st);
    if (x_dtype == VG_DTYPE_BF16) return launch_norm<bf, float>(a, st);
    if (out_dtype == VG_DTYPE_BF16) return launch_norm<float, bf>(a, st);
    return launch_norm<float, float>(a, st);
    VG_GUARD_END("vg_norm_modulate")
}

namespace {

// vg_norm_modulate_fp8_rows and vg_norm_modulate_fp8_scaled: codes with per-row scales (row_scales), or with one given
// factor (fixed_quant; vectorizable rows only)
vg_status norm_fp8(const std::string& fn, vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride, void* codes,
                   float* row_scales, const float* fixed_quant, int64_t rows, int64_t tokens, int64_t channels, float eps,
                   const void* weight, const void* bias, vg_dtype param_dtype, const vg_row_vector* scale,
                   const vg_row_vector* shift, cudaStream_t st) {
    NormArgs a;
    bool vectorized = false;
    VG_TRY(prepare(fn, kind, x, x_dtype, x_stride, codes, channels, rows, tokens, channels, eps, weight, bias, param_dtype,
                   scale, shift, a, vectorized));
    a.row_scales = row_scales;
    a.fixed_quant = fixed_quant;
    using bf = __nv_bfloat16;
    if (!vectorized) {
        if (fixed_quant)
            return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": needs 16-byte aligned rows of a multiple of 8 channels (at most 32768)");
        return x_dtype == VG_DTYPE_BF16 ? launch_general<bf, uint8_t, true>(a, st) : launch_general<float, uint8_t, true>(a, st);
    }
    return x_dtype == VG_DTYPE_BF16 ? launch_norm<bf, uint8_t, true>(a, st) : launch_norm<float, uint8_t, true>(a, st);
}

}  // namespace

extern "C" VG_API vg_status vg_norm_modulate_fp8_rows(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                                      void* codes, float* row_scales, int64_t rows, int64_t tokens,
                                                      int64_t channels, float eps, const void* weight, const void* bias,
                                                      vg_dtype param_dtype, const vg_row_vector* scale,
                                                      const vg_row_vector* shift, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_norm_modulate_fp8_rows";
    vg::clear_error();
    if (!row_scales) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": row_scales must not be NULL");
    return norm_fp8(fn, kind, x, x_dtype, x_stride, codes, row_scales, nullptr, rows, tokens, channels, eps, weight, bias,
                    param_dtype, scale, shift, static_cast<cudaStream_t>(stream));
    VG_GUARD_END("vg_norm_modulate_fp8_rows")
}

extern "C" VG_API vg_status vg_norm_modulate_fp8_scaled(vg_norm_kind kind, const void* x, vg_dtype x_dtype, int64_t x_stride,
                                                        void* codes, const float* quant_factor, int64_t rows, int64_t tokens,
                                                        int64_t channels, float eps, const void* weight, const void* bias,
                                                        vg_dtype param_dtype, const vg_row_vector* scale,
                                                        const vg_row_vector* shift, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_norm_modulate_fp8_scaled";
    vg::clear_error();
    if (!quant_factor) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": quant_factor must not be NULL");
    return norm_fp8(fn, kind, x, x_dtype, x_stride, codes, nullptr, quant_factor, rows, tokens, channels, eps, weight, bias,
                    param_dtype, scale, shift, static_cast<cudaStream_t>(stream));
    VG_GUARD_END("vg_norm_modulate_fp8_scaled")
}

extern "C" VG_API vg_status vg_residual_norm(vg_norm_kind kind, const void* x, vg_dtype x_dtype, const void* y,
                                             vg_dtype y_dtype, const vg_row_vector* gate, void* sum, void* out,
                                             vg_dtype out_dtype, float* row_scales, int64_t rows, int64_t tokens,
                                             int64_t channels, float eps, const void* weight, const void* bias,
                                             vg_dtype param_dtype, const vg_row_vector* scale, const vg_row_vector* shift,
                                             void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_residual_norm";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!y || !sum) return bad("y and sum must not be NULL");
    if (!is_f32_or_bf16(y_dtype)) return bad("y_dtype must be fp32 or bf16");
    if (!row_scales && !is_f32_or_bf16(out_dtype)) return bad("out_dtype must be fp32 or bf16 (or row_scales given for FP8 codes)");
    if (gate && !(row_vector_valid(*gate) && row_vector_vectorizable(*gate)))
        return bad("gate needs a 16-byte aligned ptr, dtype fp32/bf16 and non-negative strides that are multiples of 8");
    NormArgs a;
    bool vectorized = false;
    VG_TRY(prepare(fn, kind, x, x_dtype, channels, out, channels, rows, tokens, channels, eps, weight, bias, param_dtype,
                   scale, shift, a, vectorized));
    if (!vectorized || !vg::aligned16(y) || !vg::aligned16(sum))
        return bad("x, y, sum, out and the parameters must be 16-byte aligned rows of a multiple of 8 channels (at most 32768)");
    a.y = y;
    a.y_dtype = y_dtype;
    a.gated = gate != nullptr;
    if (gate) a.gate = *gate;
    a.sum = sum;
    a.row_scales = row_scales;
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    using bf = __nv_bfloat16;
    const bool xb = x_dtype == VG_DTYPE_BF16;
    if (row_scales) return xb ? launch_norm<bf, uint8_t, true, true>(a, st) : launch_norm<float, uint8_t, true, true>(a, st);
    if (out_dtype == VG_DTYPE_BF16) return xb ? launch_norm<bf, bf, false, true>(a, st) : launch_norm<float, bf, false, true>(a, st);
    return xb ? launch_norm<bf, float, false, true>(a, st) : launch_norm<float, float, false, true>(a, st);
    VG_GUARD_END("vg_residual_norm")
}
