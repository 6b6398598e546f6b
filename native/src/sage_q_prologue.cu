// Q's part of the Sage pre-pass fused with the q projection's RMSNorm across heads and its rotary embedding (Wan's
// attention prologue): vg_sage_quantize_q_norm_rope. Unfused, vg_rmsnorm_rope reads the projection and writes the bf16
// q, and the pre-pass's sage_quantize_q reads that q again and writes its INT8 codes; here one kernel reads the
// projection once and writes the codes: the same values (each normalized and rotated value rounded to bf16 as
// vg_rmsnorm_rope stores it, then sage_quantize_q's rule on it), up to the float summation order of the RMSNorm's sum of
// squares (a warp's here, a block's there: the mean can differ in its last bit, so a bf16 rounding and its code now and
// then by one step).
//
// One CTA = the 16 tokens of one Q scale group (kQGroup) of one batch, all heads; one warp per token holds its whole row
// (sage_prologue.cuh's norm_rope_row) through the per-head maximum (shuffles among a head's lanes, then the 16 warps'
// maxima through shared memory) and the codes. Rows of up to 2048 channels (8 vectors a lane) run two CTAs an SM (64
// registers; 16 warps alone left each CTA's loads, barrier and stores unoverlapped): at Wan 1.3B's self-attention
// 0.248 → 0.173 ms a call on an H100 (stop 43).
#include "sage_prologue.cuh"

namespace {

using vg::sage::kQGroup;
static_assert(kQGroup == vg::sage::kPrologueWarps, "a warp per token of the scale group");

struct QArgs {
    vg::sage::NormRopeArgs in;
    int64_t heads, sq_pad;
    float score_scale;  // softmax_scale · log2(e), folded into the stored scales as the pre-pass folds it
    int8_t* q8;
    float* qs;
};

template <int D, int NV>
__global__ void __launch_bounds__(kQGroup * 32, NV <= 8 ? 2 : 1) sage_q_norm_rope_kernel(QArgs a) {
    __shared__ vg::sage::HeadMaxima head_max;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int64_t b = blockIdx.y, t = static_cast<int64_t>(blockIdx.x) * kQGroup + warp;
    uint4 raw[NV];
    vg::sage::norm_rope_row<D, NV>(a.in, b, t, lane, raw);  // zeros past q_len: zero codes there
    float vmax[NV];
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        float v[8];
        vg::unpack8(raw[j], v);
        vmax[j] = 0.0f;
#pragma unroll
        for (int i = 0; i < 8; ++i) vmax[j] = fmaxf(vmax[j], fabsf(v[i]));
    }
    head_max.warp_row<D, NV>(vmax, warp, lane, a.in.channels);
    __syncthreads();
#pragma unroll
    for (int j = 0; j < NV; ++j) {
        const int64_t c = (lane + 32 * j) * 8;
        if (c >= a.in.channels) continue;
        const int64_t h = c / D;
        const float amax = head_max.of(h);
        const float inv = amax > 0.0f ? 127.0f / amax : 0.0f;
        float v[8];
        vg::unpack8(raw[j], v);
        *reinterpret_cast<uint2*>(a.q8 + ((b * a.heads + h) * a.sq_pad + t) * D + c % D) = vg::sage::quant_i8x8(v, inv);
    }
    if (warp == 0)
        for (int64_t h = lane; h < a.heads; h += 32)
            a.qs[(b * a.heads + h) * (a.sq_pad / kQGroup) + blockIdx.x] = head_max.of(h) / 127.0f * a.score_scale;
}

}  // namespace

extern "C" {

VG_API vg_status vg_sage_attention_plan_q_codes_bytes(vg_sage_attention_plan plan, size_t* bytes) {
    vg::clear_error();
    if (!plan || !bytes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_sage_attention_plan_q_codes_bytes: plan and bytes must not be NULL");
    *bytes = vg::sage::q_codes_layout(plan->desc).total;
    return VG_OK;
}

VG_API vg_status vg_sage_quantize_q_norm_rope(vg_sage_attention_plan plan, const void* x, int64_t x_stride,
                                              int32_t apply_norm, float eps, const void* weight, vg_dtype weight_dtype,
                                              const float* cos, const float* sin, int64_t table_stride, void* q_codes,
                                              size_t q_codes_bytes, void* stream) {
    VG_GUARD_BEGIN
    static const std::string fn = "vg_sage_quantize_q_norm_rope";
    vg::clear_error();
    if (!plan) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": plan must not be NULL");
    const vg_sage_attention_desc& d = plan->desc;
    const vg::sage::QCodesLayout l = vg::sage::q_codes_layout(d);
    QArgs a{};
    const std::string why = vg::sage::prologue_args(
        d, {x, x_stride, apply_norm, eps, weight, weight_dtype, cos, sin, table_stride, q_codes, q_codes_bytes}, l.total, a.in);
    if (!why.empty()) return vg::fail(VG_ERROR_INVALID_ARGUMENT, fn + ": " + why);
    a.heads = d.heads; a.sq_pad = l.sq_pad; a.score_scale = d.scale * vg::sage::kLog2e;
    auto* base = static_cast<uint8_t*>(q_codes);
    a.q8 = reinterpret_cast<int8_t*>(base + l.q8);
    a.qs = reinterpret_cast<float*>(base + l.qs);
    const dim3 grid(static_cast<unsigned>(l.sq_pad / kQGroup), static_cast<unsigned>(d.batch));
    const unsigned threads = kQGroup * 32;
    auto s = static_cast<cudaStream_t>(stream);
    vg::sage::with_prologue_vectors(a.in.channels, [&](auto nv) {
        if (d.head_dim == 64) sage_q_norm_rope_kernel<64, decltype(nv)::value><<<grid, threads, 0, s>>>(a);
        else sage_q_norm_rope_kernel<128, decltype(nv)::value><<<grid, threads, 0, s>>>(a);
    });
    return vg::launch_check("sage_q_norm_rope_kernel");
    VG_GUARD_END("vg_sage_quantize_q_norm_rope")
}

}  // extern "C"
