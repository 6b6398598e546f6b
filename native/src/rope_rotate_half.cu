// Rotate-half rotary embedding on an N-d view (Cosmos3's / Qwen's rotate_half RoPE, LTX-2's split RoPE).
#include <cuda_bf16.h>

#include <string>

#include "internal.h"

namespace {

using bf = __nv_bfloat16;

struct RotateArgs {
    int32_t rank, axis;
    int64_t first, second;  // the split of the rotated axis: first + second = its size
    int64_t sizes[VG_MAX_RANK];
    int64_t so[VG_MAX_RANK], sx[VG_MAX_RANK], sc[VG_MAX_RANK], ss[VG_MAX_RANK];
};

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const bf* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void st(float* p, float v) { *p = v; }
__device__ __forceinline__ void st(bf* p, float v) { *p = __float2bfloat16_rn(v); }

// out = x·cos + rotate_half(x)·sin; along the axis, rotate_half(x)[c] = −x[c + first] for c < second, else x[c − second]
// (torch.cat((−x[first:], x[:first])) of a split into [first, second]). One thread per output element, fp32 math.
template <typename TO, typename TX>
__global__ void rotate_half_kernel(RotateArgs g, TO* out, const TX* x, const float* cs, const float* sn, int64_t total) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        int64_t rem = i, oo = 0, ox = 0, oc = 0, os = 0, along = 0;
        for (int d = g.rank - 1; d >= 0; --d) {
            const int64_t c = rem % g.sizes[d];
            rem /= g.sizes[d];
            oo += c * g.so[d];
            ox += c * g.sx[d];
            oc += c * g.sc[d];
            os += c * g.ss[d];
            if (d == g.axis) along = c;
        }
        const bool negated = along < g.second;
        const int64_t partner = ox + (negated ? g.first : -g.second) * g.sx[g.axis];
        const float p = ld(x + partner);
        st(out + oo, ld(x + ox) * cs[oc] + (negated ? -p : p) * sn[os]);
    }
}

template <typename TO, typename TX>
vg_status launch(const RotateArgs& g, void* out, const void* x, const float* cs, const float* sn, int64_t total, cudaStream_t s) {
    int64_t blocks = (total + 255) / 256;
    if (blocks > 65536 * 4) blocks = 65536 * 4;
    rotate_half_kernel<TO, TX><<<static_cast<unsigned>(blocks), 256, 0, s>>>(
        g, static_cast<TO*>(out), static_cast<const TX*>(x), cs, sn, total);
    return vg::launch_check("rotate_half_kernel");
}

bool f32_or_bf16(vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; }

}  // namespace

VG_API vg_status vg_rope_rotate_half(int32_t rank, const int64_t* sizes, int32_t axis, int64_t first,
                                     const vg_nd_tensor* out, const vg_nd_tensor* x, const vg_nd_tensor* cos,
                                     const vg_nd_tensor* sin, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_rope_rotate_half: " + m); };
    if (rank < 1 || rank > VG_MAX_RANK) return bad("rank must be 1..8");
    if (!sizes) return bad("sizes is NULL");
    if (axis < 0 || axis >= rank) return bad("axis " + std::to_string(axis) + " is not one of the " + std::to_string(rank) + " dims");
    if (!out || !x || !cos || !sin || !out->ptr || !x->ptr || !cos->ptr || !sin->ptr) return bad("out, x, cos, sin (and their pointers) must not be NULL");
    if (!f32_or_bf16(out->dtype) || !f32_or_bf16(x->dtype)) return bad("out and x must be FP32 or BF16");
    if (cos->dtype != VG_DTYPE_FP32 || sin->dtype != VG_DTYPE_FP32) return bad("cos and sin must be FP32");
    RotateArgs g{};
    g.rank = rank; g.axis = axis;
    int64_t total = 1;
    for (int d = 0; d < rank; ++d) {
        if (sizes[d] < 0) return bad("negative size");
        g.sizes[d] = sizes[d];
        g.so[d] = out->strides[d]; g.sx[d] = x->strides[d]; g.sc[d] = cos->strides[d]; g.ss[d] = sin->strides[d];
        total *= sizes[d];
    }
    if (sizes[axis] > 1 && x->strides[axis] == 0) return bad("x must not be broadcast along the rotated axis");
    if (first < 0 || first > sizes[axis]) return bad("first " + std::to_string(first) + " is outside the rotated axis of " + std::to_string(sizes[axis]));
    g.first = first;
    g.second = sizes[axis] - first;
    if (total == 0) return VG_OK;
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const float* cs = static_cast<const float*>(cos->ptr);
    const float* sn = static_cast<const float*>(sin->ptr);
    if (out->dtype == VG_DTYPE_BF16)
        return x->dtype == VG_DTYPE_BF16 ? launch<bf, bf>(g, out->ptr, x->ptr, cs, sn, total, s) : launch<bf, float>(g, out->ptr, x->ptr, cs, sn, total, s);
    return x->dtype == VG_DTYPE_BF16 ? launch<float, bf>(g, out->ptr, x->ptr, cs, sn, total, s) : launch<float, float>(g, out->ptr, x->ptr, cs, sn, total, s);
    VG_GUARD_END("vg_rope_rotate_half")
}
