// QK RMSNorm across all heads + interleaved-pair rotary embedding (Wan's attention prologue).
#include "internal.h"
#include "vec.cuh"

namespace {

struct RopeArgs {
    const __nv_bfloat16* x;
    __nv_bfloat16* out;
    int64_t x_stride, out_stride, rows, tokens, channels, head_dim, table_stride;
    int norm;
    float eps;
    const void* weight;
    vg_dtype weight_dtype;
    const float* cos;
    const float* sin;
};

template <int NV>
__global__ void rmsnorm_rope_kernel(RopeArgs a) {
    __shared__ float scratch[32];
    const int64_t row = blockIdx.x;
    const __nv_bfloat16* x = a.x + row * a.x_stride;
    float v[NV][8];
    bool active[NV];
    const float sq = vg::load_row<NV>(x, a.channels, v, active, true, threadIdx.x, blockDim.x);
    float rstd = 1.0f;
    if (a.norm) rstd = rsqrtf(vg::block_sum(sq, scratch) / static_cast<float>(a.channels) + a.eps);
    const int64_t t = row % a.tokens;
    __nv_bfloat16* out = a.out + row * a.out_stride;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        if (!active[j]) continue;
        const int64_t c = vg::row_vec_offset(j, threadIdx.x, blockDim.x);
        float y[8];
        if (a.norm) {
            float w[8];
            if (a.weight) vg::load8_any(a.weight, c, a.weight_dtype, w);
#pragma unroll
            for (int i = 0; i < 8; ++i) y[i] = vg::round_bf16(v[j][i] * rstd * (a.weight ? w[i] : 1.0f));
        } else {
#pragma unroll
            for (int i = 0; i < 8; ++i) y[i] = v[j][i];
        }
        if (a.cos) {
            const int64_t pair = (c % a.head_dim) / 2;  // first of 4 pairs, a multiple of 4
            float4 cs = *reinterpret_cast<const float4*>(a.cos + t * a.table_stride + pair);
            float4 sn = *reinterpret_cast<const float4*>(a.sin + t * a.table_stride + pair);
            const float cv[4] = {cs.x, cs.y, cs.z, cs.w}, sv[4] = {sn.x, sn.y, sn.z, sn.w};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                float x1 = y[2 * i], x2 = y[2 * i + 1];
                y[2 * i] = x1 * cv[i] - x2 * sv[i];
                y[2 * i + 1] = x1 * sv[i] + x2 * cv[i];
            }
        }
        vg::store8(out + c, y);
    }
}

// The general path: any head_dim (even when rotating), strides and alignment. One block per row, scalar loads; the
// same arithmetic as the vector kernel (fp32 sum of squares, bf16 rounding after the norm, then the rotation).
__global__ void rmsnorm_rope_general_kernel(RopeArgs a) {
    __shared__ float scratch[32];
    const int64_t row = blockIdx.x;
    const __nv_bfloat16* x = a.x + row * a.x_stride;
    float sq = 0.0f;
    for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) {
        const float v = vg::to_float(x[c]);
        sq += v * v;
    }
    float rstd = 1.0f;
    if (a.norm) rstd = rsqrtf(vg::block_sum(sq, scratch) / static_cast<float>(a.channels) + a.eps);
    const int64_t t = row % a.tokens;
    __nv_bfloat16* out = a.out + row * a.out_stride;
    auto normed = [&](int64_t c) {
        float v = vg::to_float(x[c]);
        if (!a.norm) return v;
        float w = 1.0f;
        if (a.weight)
            w = a.weight_dtype == VG_DTYPE_BF16 ? vg::to_float(static_cast<const __nv_bfloat16*>(a.weight)[c])
                                                : static_cast<const float*>(a.weight)[c];
        return vg::round_bf16(v * rstd * w);
    };
    if (!a.cos) {
        for (int64_t c = threadIdx.x; c < a.channels; c += blockDim.x) out[c] = __float2bfloat16_rn(normed(c));
        return;
    }
    // every element is read before any is written by the same thread (pairs are disjoint), so out may alias x
    for (int64_t p = threadIdx.x; p < a.channels / 2; p += blockDim.x) {
        const int64_t c = 2 * p, pair = (c % a.head_dim) / 2;
        const float x1 = normed(c), x2 = normed(c + 1);
        const float cv = a.cos[t * a.table_stride + pair], sv = a.sin[t * a.table_stride + pair];
        out[c] = __float2bfloat16_rn(x1 * cv - x2 * sv);
        out[c + 1] = __float2bfloat16_rn(x1 * sv + x2 * cv);
    }
}

}  // namespace

extern "C" VG_API vg_status vg_rmsnorm_rope(const void* x, int64_t x_stride, void* out, int64_t out_stride,
                                            int64_t rows, int64_t tokens, int64_t heads, int64_t head_dim,
                                            int32_t apply_norm, float eps, const void* weight, vg_dtype weight_dtype,
                                            const float* cos, const float* sin, int64_t table_stride, void* stream) {
    VG_GUARD_BEGIN
    const std::string fn = "vg_rmsnorm_rope";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!x || !out) return bad("x and out must not be NULL");
    if (rows <= 0 || tokens <= 0 || heads <= 0 || head_dim <= 0 || rows % tokens)
        return bad("rows, tokens, heads, head_dim must be positive and rows a multiple of tokens");
    if (rows > 0x7fffffff) return bad("rows exceeds 2^31-1");
    const int64_t channels = heads * head_dim;
    if (!x_stride) x_stride = channels;
    if (!out_stride) out_stride = channels;
    if (x_stride < channels || out_stride < channels) return bad("x_stride/out_stride must be >= heads*head_dim");
    if (weight && (weight_dtype != VG_DTYPE_BF16 && weight_dtype != VG_DTYPE_FP32))
        return bad("weight_dtype must be bf16 or fp32");
    if ((cos == nullptr) != (sin == nullptr)) return bad("cos and sin must be given together");
    if (cos && head_dim % 2) return bad("rotary embedding needs an even head_dim, got " + std::to_string(head_dim));
    if (!table_stride) table_stride = head_dim / 2;
    if (cos && table_stride < head_dim / 2) return bad("table_stride must be >= head_dim/2");
    if (!apply_norm && !cos) return bad("nothing to do: apply_norm is 0 and cos/sin are NULL");
    // the vector kernel's constraints; every other valid call takes the general kernel
    const bool fast = head_dim % 8 == 0 && channels <= 32768 && x_stride % 8 == 0 && out_stride % 8 == 0 &&
                      vg::aligned16(x) && vg::aligned16(out) && (!weight || vg::aligned16(weight)) &&
                      (!cos || (table_stride % 4 == 0 && vg::aligned16(cos) && vg::aligned16(sin)));
    RopeArgs a{};
    a.x = static_cast<const __nv_bfloat16*>(x); a.out = static_cast<__nv_bfloat16*>(out);
    a.x_stride = x_stride; a.out_stride = out_stride; a.rows = rows; a.tokens = tokens; a.channels = channels;
    a.head_dim = head_dim; a.table_stride = table_stride; a.norm = apply_norm != 0; a.eps = eps;
    a.weight = weight; a.weight_dtype = weight_dtype; a.cos = cos; a.sin = sin;
    cudaStream_t st = static_cast<cudaStream_t>(stream);
    dim3 grid(static_cast<unsigned>(rows));
    if (!fast) {
        rmsnorm_rope_general_kernel<<<grid, 256, 0, st>>>(a);
        return vg::launch_check("rmsnorm_rope_general_kernel");
    }
    int nv = 1, threads = 32;
    vg::row_launch(channels, nv, threads);
    if (nv == 1) rmsnorm_rope_kernel<1><<<grid, threads, 0, st>>>(a);
    else if (nv == 2) rmsnorm_rope_kernel<2><<<grid, threads, 0, st>>>(a);
    else rmsnorm_rope_kernel<4><<<grid, threads, 0, st>>>(a);
    return vg::launch_check("rmsnorm_rope_kernel");
    VG_GUARD_END("vg_rmsnorm_rope")
}
