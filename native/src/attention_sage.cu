// Sage-style quantized attention for Hopper (sm_90): SageAttention2's algorithm (Zhang et al., "SageAttention2:
// Efficient Attention with Thorough Outlier Smoothing and Per-thread INT4 Quantization", 2024), reimplemented here
// from the paper's description with INT8 Q·Kᵀ (not INT4) and FP8 P·V on warp-level mma.sync tensor cores.
//
//   pre-pass  (sage_kv_stats, sage_kv_finalize, sage_quantize_q, sage_quantize_k, sage_quantize_v):
//     mean_k[b, hk, d] = mean over the sequence of k[b, :, hk, d]           (K smoothing; softmax ignores it)
//     q_i8 = rne(q / sq), sq = max|q| / 127 per q_scale_tokens (16: one warp's query rows; or 32, 64, 128) of one (b, h)
//     k_i8 = rne((k − mean_k) / sk), sk = max|k − mean_k| / 127 per k_scale_tokens (64 or 128) of one (b, hk)
//     (the scales are stored per 16 queries / 64 keys whatever the groups: a coarser group repeats its scale)
//     v_f8 = e4m3(v / sv[d]), sv[d] = max over the sequence |v[:, d]| / 448 per (b, hk, d)   (per channel)
//     The softmax scale and log2(e) are folded into sq, so the main kernel works in the exp2 domain.
//   main kernel (sage_attend), one CTA = block_q queries of one (b, h), 4 or 8 warps of 16 query rows each:
//     for each key block of block_k keys (cp.async double-buffered into shared memory):
//       S = Q_i8 · K_i8ᵀ                   mma.m16n8k32 s8·s8 -> s32 (exact)
//       S *= sq · sk                        (scores · scale · log2 e)
//       online softmax: m' = max(m, rowmax S), P = 2^(S − m'), l = l·2^(m − m') + rowsum P
//       P_f8 = e4m3(448 · P)                (P in [0, 1]: a fixed scale, as cuDNN's FP8 attention uses)
//       O = O · 2^(m − m') + P_f8 · V_f8    mma.m16n8k32 e4m3·e4m3 -> f32, the block's product accumulated from
//                                           zero and added to O by ordinary fp32 FMAs (Hopper's FP8 tensor-core
//                                           accumulation keeps fewer mantissa bits than fp32; SageAttention2's
//                                           two-level accumulation)
//     out = O · sv[d] / (448 · l)  -> bf16
//
// Workspace (offsets 256-byte aligned; the padded sequence lengths are multiples of 128, the mma.sync kernel's largest
// block, so it reads whole tiles without bounds checks; the wgmma kernel's 192-key blocks may reach past the padding,
// where its tensor copies read the next head's keys or zeros (Vᵀ: zeros), finite values whose keys the softmax masks;
// the pre-pass writes zeros into the padding):
//   q8    int8  [B, H,   Sq_pad,  D]      k8  int8  [B, Hkv, Skv_pad, D]
//   vt8   e4m3  [B, Hkv, D, Skv_pad]      (V transposed, keys permuted inside each group of 16: see kKeyPerm)
//   qs    f32   [B, H,   Sq_pad / 16]     ks  f32   [B, Hkv, Skv_pad / 64]     vs  f32 [B, Hkv, D]
//   kmean f32   [B, Hkv, D]               psum, pmax f32 [B, Hkv, chunks, D]   (per-chunk partial sums / maxima)
// Everything is deterministic (partials are reduced in a fixed order, no float atomics).
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "internal.h"
#include "sage.h"
#include "vec.cuh"

// mma.sync with e4m3 operands is PTX ISA 8.4 (CUDA 12.4). An older nvcc still compiles (and so checks) the rest of
// this file; the plan then refuses to run (VG_ERROR_NOT_SUPPORTED).
// (VG_SAGE_FORCE_FP8_MMA: emit the instruction anyway, to inspect the PTX an older nvcc generates with `nvcc -ptx`.)
#if defined(VG_SAGE_FORCE_FP8_MMA) || \
    (defined(__CUDACC_VER_MAJOR__) && (__CUDACC_VER_MAJOR__ > 12 || (__CUDACC_VER_MAJOR__ == 12 && __CUDACC_VER_MINOR__ >= 4)))
#define VG_SAGE_HAS_FP8_MMA 1
#else
#define VG_SAGE_HAS_FP8_MMA 0
#endif

namespace {

constexpr float kFp8Max = 448.0f;
using vg::sage::kKGroup;           // tokens per K scale
using vg::sage::kQGroup;           // tokens per Q scale (one warp's rows)
using vg::sage::kLog2e;
using vg::sage::kPad;             // sequence padding of the quantized tensors (the largest block)
using vg::sage::round_up;
using vg::sage::quant_i8x8;
constexpr int kStatTokens = 256;  // tokens per CTA of the K-mean / V-amax pass

struct SageLayout {
    int64_t sq_pad = 0, skv_pad = 0, chunks = 0;
    size_t q8 = 0, k8 = 0, vt8 = 0, qs = 0, ks = 0, vs = 0, kmean = 0, psum = 0, pmax = 0, total = 0;
};

SageLayout layout_of(const vg_sage_attention_desc& d) {
    SageLayout l;
    l.sq_pad = round_up(d.q_len, kPad);
    l.skv_pad = round_up(d.kv_len, kPad);
    l.chunks = (d.kv_len + kStatTokens - 1) / kStatTokens;
    const int64_t bh = d.batch * d.heads, bhk = d.batch * d.kv_heads;
    size_t at = 0;
    auto take = [&](size_t bytes) {
        size_t here = at;
        at += (bytes + 255) / 256 * 256;
        return here;
    };
    l.q8 = take(static_cast<size_t>(bh * l.sq_pad * d.head_dim));
    l.k8 = take(static_cast<size_t>(bhk * l.skv_pad * d.head_dim));
    l.vt8 = take(static_cast<size_t>(bhk * d.head_dim * l.skv_pad));
    l.qs = take(static_cast<size_t>(bh * (l.sq_pad / kQGroup)) * 4);
    l.ks = take(static_cast<size_t>(bhk * (l.skv_pad / kKGroup)) * 4);
    l.vs = take(static_cast<size_t>(bhk * d.head_dim) * 4);
    l.kmean = take(static_cast<size_t>(bhk * d.head_dim) * 4);
    l.psum = take(static_cast<size_t>(bhk * l.chunks * d.head_dim) * 4);
    l.pmax = take(static_cast<size_t>(bhk * l.chunks * d.head_dim) * 4);
    l.total = at;
    return l;
}

// Element strides in (b, s, h, d) order; the d stride is 1.
struct Strides {
    int64_t b, s, h;
};
Strides strides_of(const int64_t st[4]) { return {st[0], st[1], st[2]}; }

// ------------------------------------------------------------------------------------------------------------------
// Pre-pass
// ------------------------------------------------------------------------------------------------------------------

// Per (chunk of kStatTokens keys, b·Hkv + hk): column sums of K and column maxima of |V| over the chunk.
// Threads: D/8 per row (8 channels each), 256/(D/8) rows at a time.
template <int D>
__global__ void __launch_bounds__(256) sage_kv_stats(const __nv_bfloat16* __restrict__ k, Strides ks,
                                                     const __nv_bfloat16* __restrict__ v, Strides vs, int64_t kv_heads,
                                                     int64_t skv, int64_t chunks, float* __restrict__ psum,
                                                     float* __restrict__ pmax) {
    constexpr int kVpr = D / 8, kRows = 256 / kVpr;
    __shared__ float ssum[256 * 8];
    __shared__ float smax[256 * 8];
    const int tid = threadIdx.x, cv = tid % kVpr, r = tid / kVpr;
    const int64_t bh = blockIdx.y, b = bh / kv_heads, hk = bh % kv_heads;
    const int64_t s0 = static_cast<int64_t>(blockIdx.x) * kStatTokens, s1 = s0 + kStatTokens < skv ? s0 + kStatTokens : skv;
    float sum[8] = {}, mx[8] = {};
    for (int64_t s = s0 + r; s < s1; s += kRows) {
        float kv[8], vv[8];
        vg::load8(k + b * ks.b + s * ks.s + hk * ks.h + cv * 8, kv);
        vg::load8(v + b * vs.b + s * vs.s + hk * vs.h + cv * 8, vv);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
            sum[i] += kv[i];
            mx[i] = fmaxf(mx[i], fabsf(vv[i]));
        }
    }
#pragma unroll
    for (int i = 0; i < 8; ++i) {
        ssum[tid * 8 + i] = sum[i];
        smax[tid * 8 + i] = mx[i];
    }
    __syncthreads();
    if (tid < D) {
        const int c = tid / 8, i = tid % 8;
        float a = 0.0f, m = 0.0f;
        for (int rr = 0; rr < kRows; ++rr) {  // fixed order: deterministic
            a += ssum[(rr * kVpr + c) * 8 + i];
            m = fmaxf(m, smax[(rr * kVpr + c) * 8 + i]);
        }
        const int64_t at = (bh * chunks + blockIdx.x) * D + tid;
        psum[at] = a;
        pmax[at] = m;
    }
}

// Per b·Hkv + hk, thread d: K's mean and V's per-channel scale from the chunk partials.
__global__ void sage_kv_finalize(const float* __restrict__ psum, const float* __restrict__ pmax, int64_t chunks,
                                 int64_t skv, int head_dim, float* __restrict__ kmean, float* __restrict__ vscale) {
    const int d = threadIdx.x;
    const int64_t bh = blockIdx.x;
    double a = 0.0;
    float m = 0.0f;
    for (int64_t c = 0; c < chunks; ++c) {
        a += psum[(bh * chunks + c) * head_dim + d];
        m = fmaxf(m, pmax[(bh * chunks + c) * head_dim + d]);
    }
    kmean[bh * head_dim + d] = static_cast<float>(a / static_cast<double>(skv));
    vscale[bh * head_dim + d] = m / kFp8Max;  // 0 for an all-zero column (its codes are then 0)
}

// The quantize kernels below hold their tokens as loaded (bf16, 4 registers per 8 values instead of 8 floats) and
// convert them twice (vg::unpack8), for the maximum and for the codes: the same values, half the registers, so more CTAs
// per SM keep loads in flight (Nsight Compute, stop 35: q's and k's kernels at 36 % occupancy and 45 % of DRAM's rate).
using vg::unpack8;

// The largest |x| over `warps` consecutive warps of the CTA (a scale group), from each warp's own maximum.
// Every thread of the CTA must call it (it holds a barrier).
template <int kWarps>
__device__ __forceinline__ float group_max(float amax, int warps, float (&warp_max)[kWarps]) {
    const int warp = threadIdx.x / 32;
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, o));
    if (threadIdx.x % 32 == 0) warp_max[warp] = amax;
    __syncthreads();
    const int first = warp / warps * warps;
    amax = warp_max[first];
    for (int w = 1; w < warps; ++w) amax = fmaxf(amax, warp_max[first + w]);
    return amax;
}

// Q to INT8, one scale per `group` tokens (16, 32, 64 or 128) of one (b, h). CTA = 128 tokens, 8 warps of 16 tokens;
// the scale is stored once per 16 tokens (kQGroup), the main kernels' granularity, so a coarser group writes the same
// scale into each of its 16-token slots. Tokens from q_len to sq_pad get zero codes. The stored scale includes
// softmax_scale · log2(e).
template <int D>
__global__ void __launch_bounds__(256, 4) sage_quantize_q(const __nv_bfloat16* __restrict__ q, Strides qs_, int64_t heads,
                                                       int64_t sq, int64_t sq_pad, float score_scale, int group,
                                                       int8_t* __restrict__ q8, float* __restrict__ qscale) {
    constexpr int kVpr = D / 8, kPer = (kQGroup * kVpr) / 32;  // 8-element vectors per lane
    __shared__ float warp_max[8];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t b = blockIdx.z, h = blockIdx.y;
    const int64_t t0 = static_cast<int64_t>(blockIdx.x) * 128 + warp * kQGroup;
    uint4 raw[kPer];  // bf16 as loaded (zero bits past q_len: 0.0)
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int vi = lane + 32 * i, row = vi / kVpr, cv = vi % kVpr;
        const int64_t t = t0 + row;
        raw[i] = t < sq ? *reinterpret_cast<const uint4*>(q + b * qs_.b + t * qs_.s + h * qs_.h + cv * 8) : make_uint4(0u, 0u, 0u, 0u);
    }
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        float x[8];
        unpack8(raw[i], x);
#pragma unroll
        for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
    }
    amax = group_max(amax, group / kQGroup, warp_max);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int8_t* base = q8 + ((b * heads + h) * sq_pad + t0) * D;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int vi = lane + 32 * i, row = vi / kVpr, cv = vi % kVpr;
        float x[8];
        unpack8(raw[i], x);
        *reinterpret_cast<uint2*>(base + row * D + cv * 8) = quant_i8x8(x, inv);
    }
    if (lane == 0) qscale[(b * heads + h) * (sq_pad / kQGroup) + t0 / kQGroup] = amax / 127.0f * score_scale;
}

// Smoothed K to INT8, one scale per G (64 or 128) tokens of one (b, hk); CTA = those G tokens, 2·G threads. The scale is
// stored once per 64 tokens (kKGroup), the main kernels' granularity. Tokens from kv_len to skv_pad get zero codes (the
// main kernel masks them).
template <int D, int G>
__global__ void __launch_bounds__(2 * G, 1024 / (2 * G)) sage_quantize_k(const __nv_bfloat16* __restrict__ k, Strides ks_, int64_t kv_heads,
                                                         int64_t skv, int64_t skv_pad, const float* __restrict__ kmean,
                                                         int8_t* __restrict__ k8, float* __restrict__ kscale) {
    constexpr int kThreads = 2 * G, kVpr = D / 8, kPer = (G * kVpr) / kThreads;
    static_assert(G % kKGroup == 0, "whole main-kernel scale slots");
    __shared__ float warp_max[kThreads / 32];
    const int tid = threadIdx.x;
    const int64_t b = blockIdx.z, hk = blockIdx.y, bh = b * kv_heads + hk;
    const int64_t t0 = static_cast<int64_t>(blockIdx.x) * G;
    static_assert(kThreads % kVpr == 0, "a thread's channels are the same in every vector");
    const int cv = tid % kVpr;
    float mean[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) mean[e] = kmean[bh * D + cv * 8 + e];
    uint4 raw[kPer];  // bf16 as loaded
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int row = (tid + kThreads * i) / kVpr;
        const int64_t t = t0 + row;
        raw[i] = t < skv ? *reinterpret_cast<const uint4*>(k + b * ks_.b + t * ks_.s + hk * ks_.h + cv * 8) : make_uint4(0u, 0u, 0u, 0u);
    }
    // the smoothed values k − mean (0 past kv_len), as the maximum and the codes both read them
    auto smoothed = [&](int i, float (&x)[8]) {
        unpack8(raw[i], x);
        const bool valid = t0 + (tid + kThreads * i) / kVpr < skv;
#pragma unroll
        for (int e = 0; e < 8; ++e) x[e] = valid ? x[e] - mean[e] : 0.0f;
    };
    float amax = 0.0f;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        float x[8];
        smoothed(i, x);
#pragma unroll
        for (int e = 0; e < 8; ++e) amax = fmaxf(amax, fabsf(x[e]));
    }
    amax = group_max(amax, kThreads / 32, warp_max);
    const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
    int8_t* base = k8 + (bh * skv_pad + t0) * D;
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int row = (tid + kThreads * i) / kVpr;
        float x[8];
        smoothed(i, x);
        *reinterpret_cast<uint2*>(base + row * D + cv * 8) = quant_i8x8(x, inv);
    }
    if (tid < G / kKGroup) kscale[bh * (skv_pad / kKGroup) + t0 / kKGroup + tid] = amax / 127.0f;
}

// The key order of V inside every aligned group of 16 keys, as stored in vt8: position p holds key kKeyPerm(p).
// It is the order in which a thread's S accumulator values land in the A fragment of the P·V mma (see sage_attend),
// so that P never has to be shuffled between threads: with p = 4·t + i (t = 0..3, i = 0..3),
//   kKeyPerm(p) = 8·(i >> 1) + 2·t + (i & 1),
// i.e. positions 4t..4t+3 hold keys 2t, 2t+1, 8+2t, 9+2t.
__device__ __forceinline__ int key_perm(int p) { return 8 * ((p & 3) >> 1) + 2 * (p >> 2) + (p & 1); }

// V to FP8 E4M3 with the per-channel scales, transposed to [d][key] with keys permuted per 16 (key_perm).
// CTA = 64 keys of one (b, hk), 128 threads; the block is staged in shared memory as bf16 [64][D + 2] (as loaded: fp32
// [64][D + 1] before stop 37, twice the shared memory, half the CTAs per SM; the same values).
// Keys from kv_len to skv_pad get zero codes (P is 0 there, and 0 · a NaN code would not be).
template <int D>
__global__ void __launch_bounds__(128, 8) sage_quantize_v(const __nv_bfloat16* __restrict__ v, Strides vs_, int64_t kv_heads,
                                                       int64_t skv, int64_t skv_pad, const float* __restrict__ vscale,
                                                       uint8_t* __restrict__ vt8) {
    constexpr int kVpr = D / 8, kPer = (64 * kVpr) / 128, kItems = (D * 4) / 128;
    __shared__ __align__(16) __nv_bfloat16 sv[64][D + 2];  // rows of 65 words: a row's 16-byte vectors are 4-byte aligned
    const int tid = threadIdx.x;
    const int64_t b = blockIdx.z, hk = blockIdx.y, bh = b * kv_heads + hk;
    const int64_t t0 = static_cast<int64_t>(blockIdx.x) * 64;
    uint4 raw[kPer];
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int vi = tid + 128 * i, row = vi / kVpr, cv = vi % kVpr;
        const int64_t t = t0 + row;
        raw[i] = t < skv ? *reinterpret_cast<const uint4*>(v + b * vs_.b + t * vs_.s + hk * vs_.h + cv * 8) : make_uint4(0u, 0u, 0u, 0u);
    }
#pragma unroll
    for (int i = 0; i < kPer; ++i) {
        const int vi = tid + 128 * i, row = vi / kVpr, cv = vi % kVpr;
        uint32_t* dst = reinterpret_cast<uint32_t*>(&sv[row][cv * 8]);
        dst[0] = raw[i].x;
        dst[1] = raw[i].y;
        dst[2] = raw[i].z;
        dst[3] = raw[i].w;
    }
    __syncthreads();
    auto at = [&](int key, int d) { return __bfloat162float(sv[key][d]); };
#pragma unroll
    for (int i = 0; i < kItems; ++i) {
        // item -> (d, group of 16 keys): 4 consecutive lanes write one d row's 64 contiguous bytes
        const int w = tid + 128 * i, grp = w & 3, d = w >> 2;
        const float s = vscale[bh * D + d];
        const float inv = s > 0.0f ? 1.0f / s : 0.0f;
        uint32_t word[4];
#pragma unroll
        for (int p = 0; p < 16; p += 4) {
            const int base = grp * 16;
            const __nv_fp8x2_storage_t lo = __nv_cvt_float2_to_fp8x2(
                make_float2(at(base + key_perm(p), d) * inv, at(base + key_perm(p + 1), d) * inv), __NV_SATFINITE, __NV_E4M3);
            const __nv_fp8x2_storage_t hi = __nv_cvt_float2_to_fp8x2(
                make_float2(at(base + key_perm(p + 2), d) * inv, at(base + key_perm(p + 3), d) * inv), __NV_SATFINITE,
                __NV_E4M3);
            word[p / 4] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);  // lower address = lower byte
        }
        *reinterpret_cast<uint4*>(vt8 + (bh * D + d) * skv_pad + t0 + grp * 16) = make_uint4(word[0], word[1], word[2], word[3]);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Main kernel
// ------------------------------------------------------------------------------------------------------------------
//
// Fragment layouts of mma.sync.aligned.m16n8k32 (PTX ISA, "Matrix Fragments for mma.m16n8k32"; identical for .s8
// and .e4m3 operands, both 8-bit), per lane with g = lane >> 2 (groupID) and t = lane & 3 (threadID_in_group):
//   A (16 x 32, row-major), four .b32 registers of four 8-bit elements each, lowest byte = lowest column:
//     a0: row g,     columns 4t .. 4t+3          a1: row g + 8, columns 4t .. 4t+3
//     a2: row g,     columns 16+4t .. 16+4t+3    a3: row g + 8, columns 16+4t .. 16+4t+3
//   B (32 x 8, "col": element (k, n) with k contiguous per n), two .b32 registers:
//     b0: column n = g, rows k = 4t .. 4t+3      b1: column n = g, rows k = 16+4t .. 16+4t+3
//   C / D (16 x 8, .s32 or .f32), four registers:
//     c0: (g, 2t)   c1: (g, 2t+1)   c2: (g+8, 2t)   c3: (g+8, 2t+1)
//
// ldmatrix.m8n8.x4.b16 on 8-bit data: each 8x8 b16 matrix is 8 rows x 16 bytes; lanes 8j .. 8j+7 give the row
// addresses of matrix j, and lane l receives from every matrix the 4 bytes 4·(l & 3) .. +3 of row l >> 2. With a
// tile stored [n][k] (k contiguous) — K as [key][d] for S = Q·Kᵀ, V as vt [d][key] for O = P·V — the matrices
// (n 0-7, k 0-15), (n 0-7, k 16-31), (n 8-15, k 0-15), (n 8-15, k 16-31) give b0, b1 of the n-tile 0-7 and b0, b1 of
// the n-tile 8-15: lane l points at row n = (l & 7) + 8·(l >> 4), byte k = 16·((l >> 3) & 1).
//
// Q's A fragments are read once per CTA straight from global memory (a0 = the 4 bytes at row g, column 32c + 4t).
//
// P as the A operand of the P·V mma: S for 16 query rows x 32 keys (one k32 step) is four m16n8 accumulator tiles
// j = 0..3 (keys 8j .. 8j+7); lane (g, t) holds, per tile j, keys 8j+2t and 8j+2t+1 of rows g (c0, c1) and g+8
// (c2, c3). The A fragment wants columns 4t..4t+3 in a0. Instead of moving values between lanes, the k index of the
// P·V product is permuted: A column (= key position) 4t + i of a 16-key half holds key key_perm(4t + i) =
// 8·(i >> 1) + 2t + (i & 1), which is exactly what the lane holds:
//     a0 = { tile 0: c0, c1 | tile 1: c0, c1 }   (row g,     keys 2t, 2t+1, 8+2t, 9+2t)
//     a1 = { tile 0: c2, c3 | tile 1: c2, c3 }   (row g + 8, the same keys)
//     a2 = { tile 2: c0, c1 | tile 3: c0, c1 }   (row g,     keys 16+2t, 17+2t, 24+2t, 25+2t)
//     a3 = { tile 2: c2, c3 | tile 3: c2, c3 }   (row g + 8)
// and V's rows (the k index of B) are stored in the same permuted order by sage_quantize_v, so Σ_k A(m, k)·B(k, n)
// pairs every probability with its own key's value row.

using vg::sage::smem_u32;

__device__ __forceinline__ void cp_async16(void* smem, const void* gmem) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(smem_u32(smem)), "l"(gmem) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void cp_async_wait() { asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory"); }

__device__ __forceinline__ void ldmatrix_x4(uint32_t r[4], const void* smem) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(smem))
                 : "memory");
}

__device__ __forceinline__ void mma_s8(int c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
    asm("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+r"(c[0]), "+r"(c[1]), "+r"(c[2]), "+r"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ void mma_e4m3(float c[4], const uint32_t a[4], uint32_t b0, uint32_t b1) {
#if VG_SAGE_HAS_FP8_MMA
    asm("mma.sync.aligned.m16n8k32.row.col.f32.e4m3.e4m3.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
        "{%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    __trap();  // unreachable: plan creation refuses builds without the instruction
#endif
}

using vg::sage::ex2;
using vg::sage::fp8x2;

using vg::sage::AttendArgs;

template <int D, int BK>
constexpr int attend_smem_bytes() {
    return 2 * BK * (D + 16) + 2 * D * (BK + 16);
}

template <int D, int BQ, int BK>
__global__ void __launch_bounds__(BQ * 2) sage_attend(AttendArgs p) {
    constexpr int kThreads = BQ * 2;  // BQ / 16 warps
    constexpr int kKStride = D + 16;  // bytes per K row in shared memory: +16 keeps ldmatrix free of bank conflicts
    constexpr int kVStride = BK + 16; // bytes per vt row
    constexpr int kNT = BK / 8;       // S n-tiles per key block
    constexpr int kDT = D / 8;        // O n-tiles
    static_assert(BK * D / 16 % kThreads == 0 && D * BK / 16 % kThreads == 0, "whole cp.async rounds");
    extern __shared__ __align__(16) uint8_t smem[];
    uint8_t* s_k = smem;                           // [2][BK][kKStride]
    uint8_t* s_v = smem + 2 * BK * kKStride;       // [2][D][kVStride]

    const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32, g = lane >> 2, t = lane & 3;
    const int64_t b = blockIdx.z, h = blockIdx.y, hk = h / (p.heads / p.kv_heads);
    const int64_t bhk = b * p.kv_heads + hk;
    const int64_t row0 = static_cast<int64_t>(blockIdx.x) * BQ + warp * 16;  // this warp's first query

    // Q fragments (A operand), one k32 step per 32 channels.
    uint32_t qa[D / 32][4];
    {
        const int8_t* qrow = p.q8 + ((b * p.heads + h) * p.sq_pad + row0) * D;
#pragma unroll
        for (int c = 0; c < D / 32; ++c) {
            qa[c][0] = *reinterpret_cast<const uint32_t*>(qrow + g * D + c * 32 + 4 * t);
            qa[c][1] = *reinterpret_cast<const uint32_t*>(qrow + (g + 8) * D + c * 32 + 4 * t);
            qa[c][2] = *reinterpret_cast<const uint32_t*>(qrow + g * D + c * 32 + 16 + 4 * t);
            qa[c][3] = *reinterpret_cast<const uint32_t*>(qrow + (g + 8) * D + c * 32 + 16 + 4 * t);
        }
    }
    const float q_scale = p.qscale[(b * p.heads + h) * (p.sq_pad / kQGroup) + row0 / kQGroup];
    const float* k_scales = p.kscale + bhk * (p.skv_pad / kKGroup);
    const int8_t* k_src = p.k8 + bhk * p.skv_pad * D;
    const uint8_t* v_src = p.vt8 + bhk * D * p.skv_pad;

    auto load_block = [&](int64_t kb, int stage) {
        const int8_t* kg = k_src + kb * BK * D;
        uint8_t* ks = s_k + stage * BK * kKStride;
#pragma unroll
        for (int it = 0; it < BK * D / 16 / kThreads; ++it) {  // exact: 256..1024 chunks over 128 or 256 threads
            const int i = tid + it * kThreads, r = i / (D / 16), c = i % (D / 16);
            cp_async16(ks + r * kKStride + c * 16, kg + r * D + c * 16);
        }
        const uint8_t* vg_ = v_src + kb * BK;
        uint8_t* vs = s_v + stage * D * kVStride;
#pragma unroll
        for (int it = 0; it < D * BK / 16 / kThreads; ++it) {
            const int i = tid + it * kThreads, r = i / (BK / 16), c = i % (BK / 16);
            cp_async16(vs + r * kVStride + c * 16, vg_ + r * p.skv_pad + c * 16);
        }
    };

    float o[kDT][4];
#pragma unroll
    for (int j = 0; j < kDT; ++j) o[j][0] = o[j][1] = o[j][2] = o[j][3] = 0.0f;
    float m0 = -INFINITY, m1 = -INFINITY;  // running maxima of rows g and g + 8 (log2 domain)
    float l0 = 0.0f, l1 = 0.0f;            // this lane's part of the running sums (reduced over the quad at the end)

    const int64_t nk = (p.skv + BK - 1) / BK;
    load_block(0, 0);
    cp_async_commit();
    for (int64_t kb = 0; kb < nk; ++kb) {
        const int stage = static_cast<int>(kb & 1);
        if (kb + 1 < nk) {
            load_block(kb + 1, stage ^ 1);  // the other stage: every warp left it at the barrier ending kb - 1
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();
        const uint8_t* ks = s_k + stage * BK * kKStride;
        const uint8_t* vs = s_v + stage * D * kVStride;

        // S = Q_i8 · K_i8ᵀ
        int acc[kNT][4];
#pragma unroll
        for (int j = 0; j < kNT; ++j) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0;
#pragma unroll
        for (int c = 0; c < D / 32; ++c) {
#pragma unroll
            for (int np = 0; np < kNT / 2; ++np) {
                uint32_t r[4];
                ldmatrix_x4(r, ks + (np * 16 + (lane & 7) + (lane >> 4) * 8) * kKStride + c * 32 + ((lane >> 3) & 1) * 16);
                mma_s8(acc[2 * np], qa[c], r[0], r[1]);
                mma_s8(acc[2 * np + 1], qa[c], r[2], r[3]);
            }
        }

        // dequantize (scores · softmax scale · log2 e), mask the keys past kv_len, row maxima
        float s[kNT][4];
        float mx0 = m0, mx1 = m1;
#pragma unroll
        for (int j = 0; j < kNT; ++j) {
            const float f = q_scale * k_scales[kb * (BK / kKGroup) + (j * 8) / kKGroup];
#pragma unroll
            for (int e = 0; e < 4; ++e) s[j][e] = static_cast<float>(acc[j][e]) * f;
        }
        if ((kb + 1) * BK > p.skv) {
#pragma unroll
            for (int j = 0; j < kNT; ++j)
#pragma unroll
                for (int e = 0; e < 4; ++e)
                    if (kb * BK + j * 8 + 2 * t + (e & 1) >= p.skv) s[j][e] = -INFINITY;
        }
#pragma unroll
        for (int j = 0; j < kNT; ++j) {
            mx0 = fmaxf(mx0, fmaxf(s[j][0], s[j][1]));
            mx1 = fmaxf(mx1, fmaxf(s[j][2], s[j][3]));
        }
        // the four lanes of a quad (same g) hold the rest of rows g and g + 8
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 1));
        mx0 = fmaxf(mx0, __shfl_xor_sync(0xffffffffu, mx0, 2));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 1));
        mx1 = fmaxf(mx1, __shfl_xor_sync(0xffffffffu, mx1, 2));
        // key block 0 always has a valid key, so mx is finite from the first block on; 2^(-inf - mx) = 0 then
        const float alpha0 = ex2(m0 - mx0), alpha1 = ex2(m1 - mx1);
        m0 = mx0;
        m1 = mx1;

        // P = 2^(S - m), its row sums in fp32, and P · 448 as E4M3 A fragments (layout: see the comment above)
        uint32_t pa[BK / 32][4];
        float rs0 = 0.0f, rs1 = 0.0f;
#pragma unroll
        for (int kc = 0; kc < BK / 32; ++kc) pa[kc][0] = pa[kc][1] = pa[kc][2] = pa[kc][3] = 0u;
#pragma unroll
        for (int j = 0; j < kNT; ++j) {
            const float p0 = ex2(s[j][0] - mx0), p1 = ex2(s[j][1] - mx0);
            const float p2 = ex2(s[j][2] - mx1), p3 = ex2(s[j][3] - mx1);
            rs0 += p0 + p1;
            rs1 += p2 + p3;
            const int kc = j / 4, jj = j % 4, reg = (jj >> 1) * 2, shift = (jj & 1) * 16;
            pa[kc][reg] |= fp8x2(p0 * kFp8Max, p1 * kFp8Max) << shift;      // row g
            pa[kc][reg + 1] |= fp8x2(p2 * kFp8Max, p3 * kFp8Max) << shift;  // row g + 8
        }
        l0 = l0 * alpha0 + rs0;
        l1 = l1 * alpha1 + rs1;

        // O = O · alpha + P_f8 · V_f8 (the block's product accumulated from zero in the tensor core, added in fp32)
#pragma unroll
        for (int dp = 0; dp < kDT / 2; ++dp) {
            float t0[4] = {0.0f, 0.0f, 0.0f, 0.0f}, t1[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int kc = 0; kc < BK / 32; ++kc) {
                uint32_t r[4];
                ldmatrix_x4(r, vs + (dp * 16 + (lane & 7) + (lane >> 4) * 8) * kVStride + kc * 32 + ((lane >> 3) & 1) * 16);
                mma_e4m3(t0, pa[kc], r[0], r[1]);
                mma_e4m3(t1, pa[kc], r[2], r[3]);
            }
            o[2 * dp][0] = o[2 * dp][0] * alpha0 + t0[0];
            o[2 * dp][1] = o[2 * dp][1] * alpha0 + t0[1];
            o[2 * dp][2] = o[2 * dp][2] * alpha1 + t0[2];
            o[2 * dp][3] = o[2 * dp][3] * alpha1 + t0[3];
            o[2 * dp + 1][0] = o[2 * dp + 1][0] * alpha0 + t1[0];
            o[2 * dp + 1][1] = o[2 * dp + 1][1] * alpha0 + t1[1];
            o[2 * dp + 1][2] = o[2 * dp + 1][2] * alpha1 + t1[2];
            o[2 * dp + 1][3] = o[2 * dp + 1][3] * alpha1 + t1[3];
        }
        __syncthreads();  // every warp is done with this stage before the next iteration refills it
    }

    // out = O · v_scale[d] / (448 · l)
    l0 += __shfl_xor_sync(0xffffffffu, l0, 1);
    l0 += __shfl_xor_sync(0xffffffffu, l0, 2);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 1);
    l1 += __shfl_xor_sync(0xffffffffu, l1, 2);
    const float inv0 = 1.0f / (l0 * kFp8Max), inv1 = 1.0f / (l1 * kFp8Max);
    const float* vsc = p.vscale + bhk * D;
    const int64_t r0 = row0 + g, r1 = row0 + g + 8;
    __nv_bfloat16* out0 = static_cast<__nv_bfloat16*>(p.out) + b * p.os_b + r0 * p.os_s + h * p.os_h;
    __nv_bfloat16* out1 = static_cast<__nv_bfloat16*>(p.out) + b * p.os_b + r1 * p.os_s + h * p.os_h;
#pragma unroll
    for (int j = 0; j < kDT; ++j) {
        const int d = j * 8 + 2 * t;
        const float v0 = vsc[d], v1 = vsc[d + 1];
        if (r0 < p.sq)
            *reinterpret_cast<__nv_bfloat162*>(out0 + d) = __floats2bfloat162_rn(o[j][0] * inv0 * v0, o[j][1] * inv0 * v1);
        if (r1 < p.sq)
            *reinterpret_cast<__nv_bfloat162*>(out1 + d) = __floats2bfloat162_rn(o[j][2] * inv1 * v0, o[j][3] * inv1 * v1);
    }
}

// ------------------------------------------------------------------------------------------------------------------
// Host side
// ------------------------------------------------------------------------------------------------------------------

template <int D, int BQ, int BK>
const void* attend_kernel() {
    return reinterpret_cast<const void*>(&sage_attend<D, BQ, BK>);
}

const void* attend_kernel_for(int64_t d, int bq, int bk) {
    if (d == 64) {
        if (bq == 64) return bk == 64 ? attend_kernel<64, 64, 64>() : attend_kernel<64, 64, 128>();
        return bk == 64 ? attend_kernel<64, 128, 64>() : attend_kernel<64, 128, 128>();
    }
    if (bq == 64) return bk == 64 ? attend_kernel<128, 64, 64>() : attend_kernel<128, 64, 128>();
    return bk == 64 ? attend_kernel<128, 128, 64>() : attend_kernel<128, 128, 128>();
}

int attend_smem_for(int64_t d, int bk) {
    if (d == 64) return bk == 64 ? attend_smem_bytes<64, 64>() : attend_smem_bytes<64, 128>();
    return bk == 64 ? attend_smem_bytes<128, 64>() : attend_smem_bytes<128, 128>();
}

void default_strides(int64_t s, int64_t h, int64_t d, int64_t out[4]) {
    out[0] = s * h * d;
    out[1] = h * d;
    out[2] = d;
    out[3] = 1;
}

bool all_zero(const int64_t st[4]) { return !st[0] && !st[1] && !st[2] && !st[3]; }

template <int D>
void launch_quantize(const vg_sage_attention_desc& d, const SageLayout& l, uint8_t* ws, const vg_sage_attention_args& a,
                     bool with_q, cudaStream_t s) {
    const Strides qs = strides_of(d.q_strides), ks = strides_of(d.k_strides), vs = strides_of(d.v_strides);
    const auto* q = static_cast<const __nv_bfloat16*>(a.q);
    const auto* k = static_cast<const __nv_bfloat16*>(a.k);
    const auto* v = static_cast<const __nv_bfloat16*>(a.v);
    auto* psum = reinterpret_cast<float*>(ws + l.psum);
    auto* pmax = reinterpret_cast<float*>(ws + l.pmax);
    auto* kmean = reinterpret_cast<float*>(ws + l.kmean);
    auto* vscale = reinterpret_cast<float*>(ws + l.vs);
    const int64_t bhk = d.batch * d.kv_heads;
    sage_kv_stats<D><<<dim3(static_cast<unsigned>(l.chunks), static_cast<unsigned>(bhk)), 256, 0, s>>>(
        k, ks, v, vs, d.kv_heads, d.kv_len, l.chunks, psum, pmax);
    sage_kv_finalize<<<static_cast<unsigned>(bhk), D, 0, s>>>(psum, pmax, l.chunks, d.kv_len, D, kmean, vscale);
    if (with_q)
        sage_quantize_q<D><<<dim3(static_cast<unsigned>(l.sq_pad / 128), static_cast<unsigned>(d.heads),
                                  static_cast<unsigned>(d.batch)), 256, 0, s>>>(
            q, qs, d.heads, d.q_len, l.sq_pad, d.scale * kLog2e, d.q_scale_tokens, reinterpret_cast<int8_t*>(ws + l.q8),
            reinterpret_cast<float*>(ws + l.qs));
    auto kv_grid = [&](int tokens) {
        return dim3(static_cast<unsigned>(l.skv_pad / tokens), static_cast<unsigned>(d.kv_heads), static_cast<unsigned>(d.batch));
    };
    auto* k8 = reinterpret_cast<int8_t*>(ws + l.k8);
    auto* kscale = reinterpret_cast<float*>(ws + l.ks);
    if (d.k_scale_tokens == 128)
        sage_quantize_k<D, 128><<<kv_grid(128), 256, 0, s>>>(k, ks, d.kv_heads, d.kv_len, l.skv_pad, kmean, k8, kscale);
    else
        sage_quantize_k<D, 64><<<kv_grid(64), 128, 0, s>>>(k, ks, d.kv_heads, d.kv_len, l.skv_pad, kmean, k8, kscale);
    sage_quantize_v<D><<<kv_grid(64), 128, 0, s>>>(v, vs, d.kv_heads, d.kv_len, l.skv_pad, vscale, ws + l.vt8);
}

template <int D, int BQ, int BK>
void launch_attend(const AttendArgs& a, cudaStream_t s) {
    const dim3 grid(static_cast<unsigned>((a.sq + BQ - 1) / BQ), static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
    sage_attend<D, BQ, BK><<<grid, BQ * 2, attend_smem_bytes<D, BK>(), s>>>(a);
}

template <int D>
void launch_attend_d(const vg_sage_attention_desc& d, const AttendArgs& a, cudaStream_t s) {
    if (d.block_q == 64) {
        if (d.block_k == 64) launch_attend<D, 64, 64>(a, s);
        else launch_attend<D, 64, 128>(a, s);
    } else {
        if (d.block_k == 64) launch_attend<D, 128, 64>(a, s);
        else launch_attend<D, 128, 128>(a, s);
    }
}

}  // namespace

extern "C" {

VG_API vg_status vg_sage_attention_plan_create(vg_context ctx, const vg_sage_attention_desc* desc,
                                               vg_sage_attention_plan* out) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_sage_attention_plan_create";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    auto unsupported = [&](const std::string& m) { return vg::fail(VG_ERROR_NOT_SUPPORTED, fn + ": " + m); };
    if (!ctx || !desc || !out) return bad("ctx, desc and out must not be NULL");
    *out = nullptr;
    if (desc->struct_size != sizeof(vg_sage_attention_desc))
        return bad("desc->struct_size is " + std::to_string(desc->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_sage_attention_desc)));
    vg_sage_attention_desc d = *desc;
    if (!d.kv_heads) d.kv_heads = d.heads;
    if (d.batch <= 0 || d.heads <= 0 || d.kv_heads <= 0 || d.q_len <= 0 || d.kv_len <= 0 || d.head_dim <= 0)
        return bad("batch, heads, kv_heads, q_len, kv_len and head_dim must be positive");
    if (d.heads % d.kv_heads) return bad("heads must be a multiple of kv_heads");
    if (d.head_dim != 64 && d.head_dim != 128)
        return unsupported("head_dim " + std::to_string(d.head_dim) +
                           " has no Sage kernel (64 and 128 are compiled; use the cuDNN attention for others)");
    if (d.kernel != VG_SAGE_KERNEL_AUTO && d.kernel != VG_SAGE_KERNEL_MMA && d.kernel != VG_SAGE_KERNEL_WGMMA)
        return bad("kernel " + std::to_string(d.kernel) + " is not a vg_sage_kernel");
    if ((d.block_q != 0 && d.block_q != 64 && d.block_q != 128) ||
        (d.block_k != 0 && d.block_k != 64 && d.block_k != 128 && d.block_k != 192))
        return bad("block_q must be 64 or 128 and block_k 64, 128 or 192 (wgmma only) (0 = default), got " +
                   std::to_string(d.block_q) + " and " + std::to_string(d.block_k));
    if (d.q_scale_tokens == 0) d.q_scale_tokens = kQGroup;
    if (d.k_scale_tokens == 0) d.k_scale_tokens = kKGroup;
    if (d.q_scale_tokens != 16 && d.q_scale_tokens != 32 && d.q_scale_tokens != 64 && d.q_scale_tokens != 128)
        return bad("q_scale_tokens must be 16, 32, 64 or 128 (0 = 16), got " + std::to_string(d.q_scale_tokens));
    if (d.k_scale_tokens != 64 && d.k_scale_tokens != 128)
        return bad("k_scale_tokens must be 64 or 128 (0 = 64), got " + std::to_string(d.k_scale_tokens));
    if (d.batch > 65535 || d.heads > 65535 || d.q_len > (int64_t(1) << 30) || d.kv_len > (int64_t(1) << 30))
        return unsupported("batch and heads must be <= 65535 and sequence lengths <= 2^30");
    if (all_zero(d.q_strides)) default_strides(d.q_len, d.heads, d.head_dim, d.q_strides);
    if (all_zero(d.k_strides)) default_strides(d.kv_len, d.kv_heads, d.head_dim, d.k_strides);
    if (all_zero(d.v_strides)) default_strides(d.kv_len, d.kv_heads, d.head_dim, d.v_strides);
    if (all_zero(d.out_strides)) default_strides(d.q_len, d.heads, d.head_dim, d.out_strides);
    for (const int64_t* st : {d.q_strides, d.k_strides, d.v_strides, d.out_strides}) {
        if (st[3] != 1) return bad("the head_dim stride (index 3) must be 1");
        for (int i = 0; i < 3; ++i)
            if (st[i] <= 0 || st[i] % 8) return bad("b/s/h strides must be positive multiples of 8 elements");
    }
    if (d.scale == 0.0f) d.scale = 1.0f / std::sqrt(static_cast<float>(d.head_dim));
    if (!VG_SAGE_HAS_FP8_MMA)
        return unsupported("this library was built with a CUDA toolkit older than 12.4, whose PTX has no FP8 mma.sync");
    int dev = 0, major = 0;
    VG_TRY(vg::cuda_check(cudaGetDevice(&dev), "vg_sage_attention_plan_create: cudaGetDevice"));
    VG_TRY(vg::cuda_check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev),
                          "vg_sage_attention_plan_create: cudaDeviceGetAttribute"));
    if (major < 9) return unsupported("Sage attention is built for compute capability 9.0 (Hopper) or newer");
    // The wgmma kernel runs 128 queries per CTA with head_dim 128, key blocks of 192 (default) or 128, and indexes tiles
    // with 32-bit coordinates.
    const int64_t w = vg::sage::kWgmmaBlock;
    const bool wgmma_shape = d.head_dim == w && d.scale > 0.0f && (d.block_q == 0 || d.block_q == w) &&
                             (d.block_k == 0 || d.block_k == 128 || d.block_k == 192) &&
                             d.batch * d.heads * round_up(d.q_len, kPad) < (int64_t(1) << 31) &&
                             d.batch * d.kv_heads * round_up(d.kv_len, kPad) < (int64_t(1) << 31);
    std::string why;
    const bool wgmma_here = vg::sage::wgmma_available(dev, &why);
    if (d.kernel == VG_SAGE_KERNEL_WGMMA) {
        if (!wgmma_shape)
            return unsupported("the wgmma kernel runs head_dim 128 with block_q 128 and block_k 192 or 128 (0 for those) "
                               "and a positive scale; got head_dim " + std::to_string(d.head_dim) + ", blocks " +
                               std::to_string(d.block_q) + " x " + std::to_string(d.block_k));
        if (!wgmma_here) return unsupported(why);
    }
    if (d.kernel == VG_SAGE_KERNEL_AUTO) d.kernel = wgmma_shape && wgmma_here ? VG_SAGE_KERNEL_WGMMA : VG_SAGE_KERNEL_MMA;
    if (d.kernel == VG_SAGE_KERNEL_WGMMA) {
        d.block_q = static_cast<int32_t>(w);
        if (d.block_k == 0) d.block_k = vg::sage::wgmma_keys(d.kv_len);
        VG_TRY(vg::sage::wgmma_prepare());
    } else {
        if (d.block_k == 192)
            return unsupported("block_k 192 runs on the wgmma kernel only (Hopper, head_dim 128, block_q 128); the mma.sync "
                               "kernel takes 64 or 128" + (wgmma_here ? std::string() : "; here: " + why));
        if (d.block_q == 0) d.block_q = 64;  // 4 warps: at ~170 registers, three CTAs (12 warps) fit an SM
        if (d.block_k == 0) d.block_k = 64;
        const int smem = attend_smem_for(d.head_dim, d.block_k);
        VG_TRY(vg::cuda_check(cudaFuncSetAttribute(attend_kernel_for(d.head_dim, d.block_q, d.block_k),
                                                   cudaFuncAttributeMaxDynamicSharedMemorySize, smem),
                              "vg_sage_attention_plan_create: cudaFuncSetAttribute"));
    }
    auto* p = new vg_sage_attention_plan_t();
    p->desc = d;
    *out = p;
    return VG_OK;
    VG_GUARD_END("vg_sage_attention_plan_create")
}

VG_API vg_status vg_sage_attention_plan_destroy(vg_sage_attention_plan plan) {
    VG_GUARD_BEGIN
    vg::clear_error();
    delete plan;
    return VG_OK;
    VG_GUARD_END("vg_sage_attention_plan_destroy")
}

VG_API vg_status vg_sage_attention_plan_workspace_size(vg_sage_attention_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_sage_attention_plan_workspace_size: plan and bytes must not be NULL");
    *bytes = layout_of(plan->desc).total;
    return VG_OK;
}

VG_API vg_status vg_sage_attention_plan_blocks(vg_sage_attention_plan plan, int32_t* block_q, int32_t* block_k) {
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_sage_attention_plan_blocks: plan must not be NULL");
    if (block_q) *block_q = plan->desc.block_q;
    if (block_k) *block_k = plan->desc.block_k;
    return VG_OK;
}

VG_API vg_status vg_sage_attention_plan_kernel(vg_sage_attention_plan plan, int32_t* kernel) {
    vg::clear_error();
    if (!plan || !kernel)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_sage_attention_plan_kernel: plan and kernel must not be NULL");
    *kernel = plan->desc.kernel;
    return VG_OK;
}

VG_API vg_status vg_sage_attention_run(vg_sage_attention_plan plan, const vg_sage_attention_args* args,
                                       vg_sage_phase phase, void* stream) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_sage_attention_run";
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + m); };
    if (!plan || !args) return bad("plan and args must not be NULL");
    if (args->struct_size != sizeof(vg_sage_attention_args))
        return bad("args->struct_size is " + std::to_string(args->struct_size) + ", expected " +
                   std::to_string(sizeof(vg_sage_attention_args)));
    if (phase != VG_SAGE_PHASE_ALL && phase != VG_SAGE_PHASE_QUANTIZE && phase != VG_SAGE_PHASE_ATTEND &&
        phase != VG_SAGE_PHASE_KV_ATTEND)
        return bad("phase " + std::to_string(static_cast<int>(phase)) + " is not a vg_sage_phase");
    const vg_sage_attention_desc& d = plan->desc;
    const SageLayout l = layout_of(d);
    const bool quantize = phase != VG_SAGE_PHASE_ATTEND, attend = phase != VG_SAGE_PHASE_QUANTIZE;
    // args->q: Q's codes (vg_sage_quantize_q_norm_rope)
    const bool q_given = phase == VG_SAGE_PHASE_KV_ATTEND;
    if (quantize) {
        if (!args->q || !args->k || !args->v) return bad("q, k and v must not be NULL");
        for (const void* p : {args->q, args->k, args->v})
            if (!vg::aligned16(p)) return bad("q, k and v must be 16-byte aligned");
    }
    if (q_given && d.q_scale_tokens != kQGroup)
        return bad("this phase reads Q's codes of vg_sage_quantize_q_norm_rope, which scales per 16 query tokens; this "
                   "plan's q_scale_tokens is " + std::to_string(d.q_scale_tokens));
    if (attend && (!args->out || !vg::aligned16(args->out))) return bad("out must be non-NULL and 16-byte aligned");
    if (!args->workspace || !vg::aligned16(args->workspace)) return bad("workspace must be non-NULL and 16-byte aligned");
    if (args->workspace_bytes < l.total)
        return bad("workspace_bytes " + std::to_string(args->workspace_bytes) + " < the plan's " + std::to_string(l.total));
    auto s = static_cast<cudaStream_t>(stream);
    auto* ws = static_cast<uint8_t*>(args->workspace);
    if (quantize) {
        if (d.head_dim == 64) launch_quantize<64>(d, l, ws, *args, !q_given, s);
        else launch_quantize<128>(d, l, ws, *args, !q_given, s);
        VG_TRY(vg::launch_check("vg_sage_attention_run (quantize)"));
    }
    if (attend) {
        AttendArgs a{};
        const vg::sage::QCodesLayout ql = vg::sage::q_codes_layout(d);
        const auto* qbuf = static_cast<const uint8_t*>(args->q);
        a.q8 = reinterpret_cast<const int8_t*>(q_given ? qbuf + ql.q8 : ws + l.q8);
        a.k8 = reinterpret_cast<const int8_t*>(ws + l.k8);
        a.vt8 = ws + l.vt8;
        a.qscale = reinterpret_cast<const float*>(q_given ? qbuf + ql.qs : ws + l.qs);
        a.kscale = reinterpret_cast<const float*>(ws + l.ks);
        a.vscale = reinterpret_cast<const float*>(ws + l.vs);
        a.out = args->out;
        a.os_b = d.out_strides[0];
        a.os_s = d.out_strides[1];
        a.os_h = d.out_strides[2];
        a.batch = d.batch;
        a.heads = d.heads;
        a.kv_heads = d.kv_heads;
        a.sq = d.q_len;
        a.skv = d.kv_len;
        a.sq_pad = l.sq_pad;
        a.skv_pad = l.skv_pad;
        a.block_k = d.block_k;
        if (d.kernel == VG_SAGE_KERNEL_WGMMA) {
            VG_TRY(vg::sage::wgmma_attend(a, s));
        } else {
            if (d.head_dim == 64) launch_attend_d<64>(d, a, s);
            else launch_attend_d<128>(d, a, s);
            VG_TRY(vg::launch_check("vg_sage_attention_run (attend)"));
        }
    }
    return VG_OK;
    VG_GUARD_END("vg_sage_attention_run")
}

}  // extern "C"
