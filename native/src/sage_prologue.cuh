// The Sage Q prologue's steps (sage_q_prologue.cu): one token's row of q's projection, held by a warp, through what
// vg_rmsnorm_rope does to it before the attention (Wan's RMSNorm across all heads, its interleaved-pair rotary
// embedding), each value rounded to bf16 as vg_rmsnorm_rope stores it; the per-head maxima of a scale group; the
// entry point's checks. (Stop 41 measured K's codes written the same way no faster in the Wan forward: not kept.)
#pragma once

#include <string>
#include <type_traits>

#include "internal.h"
#include "sage.h"
#include "vec.cuh"

namespace vg::sage {

constexpr int kPrologueMaxChannels = 6144;  // heads · head_dim a warp holds: 24 vectors of 8 a lane

// The projection and what to apply to it (host-checked by the entry points).
struct NormRopeArgs {
    const __nv_bfloat16* x;  // rows of heads · head_dim channels, token-major per batch
    int64_t x_stride, tokens, channels, table_stride;
    int norm;
    float eps;
    const void* weight;  // NULL: no weight (or no norm)
    vg_dtype weight_dtype;
    const float* cos;    // NULL: no rotation
    const float* sin;
};

// Token t of batch b into `raw` (NV 8-element vectors a lane: lane's vector j holds channels 8·(lane + 32·j) ..+7, a
// head's D/8 vectors on consecutive lanes), normalized and rotated, as bf16; zeros for a token past `tokens` and for
// vectors past the row. Every lane of the warp must call it (the norm's sum is a warp sum).
template <int D, int NV>
__device__ __forceinline__ void norm_rope_row(const NormRopeArgs& a, int64_t b, int64_t t, int lane, uint4 (&raw)[NV]) {
    const bool real = t < a.tokens;
    const __nv_bfloat16* x = a.x + (b * a.tokens + t) * a.x_stride;
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        const int64_t c = (lane + 32 * j) * 8;
        raw[j] = real && c < a.channels ? *reinterpret_cast<const uint4*>(x + c) : make_uint4(0u, 0u, 0u, 0u);
    }
    float rstd = 1.0f;
    if (a.norm) {
        float sq = 0.0f;
#pragma unroll
        for (int j = 0; j < NV; ++j) {
            float v[8];
            vg::unpack8(raw[j], v);
#pragma unroll
            for (int i = 0; i < 8; ++i) sq += v[i] * v[i];
        }
        rstd = rsqrtf(vg::warp_sum(sq) / static_cast<float>(a.channels) + a.eps);
    }
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        const int64_t c = (lane + 32 * j) * 8;
        if (!real || c >= a.channels) continue;
        float v[8];
        vg::unpack8(raw[j], v);
        if (a.norm) {
            float w[8];
            if (a.weight) vg::load8_any(a.weight, c, a.weight_dtype, w);
#pragma unroll
            for (int i = 0; i < 8; ++i) v[i] = vg::round_bf16(v[i] * rstd * (a.weight ? w[i] : 1.0f));
        }
        if (a.cos) {
            const int64_t pair = (c % D) / 2;  // first of 4 pairs, a multiple of 4
            const float4 cs = *reinterpret_cast<const float4*>(a.cos + t * a.table_stride + pair);
            const float4 sn = *reinterpret_cast<const float4*>(a.sin + t * a.table_stride + pair);
            const float cv[4] = {cs.x, cs.y, cs.z, cs.w}, sv[4] = {sn.x, sn.y, sn.z, sn.w};
#pragma unroll
            for (int i = 0; i < 4; ++i) {
                const float x1 = v[2 * i], x2 = v[2 * i + 1];
                v[2 * i] = x1 * cv[i] - x2 * sv[i];
                v[2 * i + 1] = x1 * sv[i] + x2 * cv[i];
            }
        }
        raw[j] = vg::pack8_bf16(v);
    }
}

// Per-head maxima of a CTA's 16 warps (a scale group's tokens), one row per warp: the warps write their rows
// (warp_row), and after a barrier every thread reads a head's maximum over the group (of).
constexpr int kPrologueWarps = 16;
struct HeadMaxima {
    float m[kPrologueWarps][kPrologueMaxChannels / 64];  // heads at head_dim 64 at the most

    // This warp's maxima: per vector j, the maximum of vmax[j] over the lanes of its head (D/8 consecutive lanes).
    template <int D, int NV>
    __device__ __forceinline__ void warp_row(const float (&vmax)[NV], int warp, int lane, int64_t channels) {
#pragma unroll
        for (int j = 0; j < NV; ++j) {
            float x = vmax[j];
#pragma unroll
            for (int o = D / 16; o > 0; o >>= 1) x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, o));
            const int64_t c = (lane + 32 * j) * 8;
            if (lane % (D / 8) == 0 && c < channels) m[warp][c / D] = x;
        }
    }

    __device__ __forceinline__ float of(int64_t h) const {
        float x = m[0][h];
#pragma unroll
        for (int w = 1; w < kPrologueWarps; ++w) x = fmaxf(x, m[w][h]);
        return x;
    }
};

// Calls f(std::integral_constant<int, NV>{}) with the vectors a lane for rows of `channels` (the kernels are
// instantiated for NV = 2, 4, 6, 8, 12, 16, 20 and 24).
template <typename F>
void with_prologue_vectors(int64_t channels, F&& f) {
    const int64_t nv = (channels / 8 + 31) / 32;
    if (nv <= 2) f(std::integral_constant<int, 2>{});
    else if (nv <= 4) f(std::integral_constant<int, 4>{});
    else if (nv <= 6) f(std::integral_constant<int, 6>{});
    else if (nv <= 8) f(std::integral_constant<int, 8>{});
    else if (nv <= 12) f(std::integral_constant<int, 12>{});
    else if (nv <= 16) f(std::integral_constant<int, 16>{});
    else if (nv <= 20) f(std::integral_constant<int, 20>{});
    else f(std::integral_constant<int, 24>{});
}

// What vg_sage_quantize_q_norm_rope takes besides the plan.
struct PrologueCall {
    const void* x;
    int64_t x_stride;
    int32_t apply_norm;
    float eps;
    const void* weight;
    vg_dtype weight_dtype;
    const float* cos;
    const float* sin;
    int64_t table_stride;
    void* codes;
    size_t codes_bytes;
};

// The entry point's checks, and the projection's arguments in `in`: "" or what is wrong with the call. `need`: the
// bytes of the plan's codes.
inline std::string prologue_args(const vg_sage_attention_desc& d, PrologueCall c, size_t need, NormRopeArgs& in) {
    if (!c.x || !c.codes) return "x and the codes' buffer must not be NULL";
    const int64_t channels = d.heads * d.head_dim;
    if (d.q_scale_tokens != kQGroup)
        return "the plan's q_scale_tokens is " + std::to_string(d.q_scale_tokens) + "; this pass scales per 16 queries";
    if (channels > kPrologueMaxChannels)
        return "heads · head_dim = " + std::to_string(channels) + " exceeds the " + std::to_string(kPrologueMaxChannels) +
               " channels a warp holds (use vg_rmsnorm_rope and the whole pre-pass)";
    if (!c.x_stride) c.x_stride = channels;
    if (c.x_stride < channels || c.x_stride % 8) return "x_stride must be a multiple of 8 and >= heads · head_dim";
    if (!vg::aligned16(c.x) || !vg::aligned16(c.codes)) return "x and the codes' buffer must be 16-byte aligned";
    if (c.codes_bytes < need)
        return "the codes' buffer has " + std::to_string(c.codes_bytes) + " bytes, the plan's need " + std::to_string(need);
    const bool weighted = c.apply_norm && c.weight;
    if (weighted && ((c.weight_dtype != VG_DTYPE_BF16 && c.weight_dtype != VG_DTYPE_FP32) || !vg::aligned16(c.weight)))
        return "weight must be bf16 or fp32 and 16-byte aligned";
    if ((c.cos == nullptr) != (c.sin == nullptr)) return "cos and sin must be given together";
    if (!c.table_stride) c.table_stride = d.head_dim / 2;
    if (c.cos && (c.table_stride < d.head_dim / 2 || c.table_stride % 4 || !vg::aligned16(c.cos) || !vg::aligned16(c.sin)))
        return "cos/sin need a table_stride >= head_dim/2, a multiple of 4, and 16-byte alignment";
    in = {static_cast<const __nv_bfloat16*>(c.x), c.x_stride, d.q_len, channels, c.table_stride,
          c.apply_norm != 0, c.eps, weighted ? c.weight : nullptr, c.weight_dtype, c.cos, c.sin};
    return "";
}

}  // namespace vg::sage
