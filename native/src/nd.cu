// Generic N-d elementwise kernel: broadcast arithmetic, activations, casts and strided layout copies.
#include <string>
#include <type_traits>

#include "internal.h"
#include "vec.cuh"

namespace {

using bf = __nv_bfloat16;

struct NdArgs {
    int32_t rank;
    int64_t sizes[VG_MAX_RANK];
    int64_t so[VG_MAX_RANK], sa[VG_MAX_RANK], sb[VG_MAX_RANK];
};

__device__ __forceinline__ float ld(const float* p) { return *p; }
__device__ __forceinline__ float ld(const bf* p) { return __bfloat162float(*p); }
__device__ __forceinline__ float ld(const int64_t* p) { return static_cast<float>(*p); }  // token ids, masks (Cast)
__device__ __forceinline__ void st(float* p, float v) { *p = v; }
__device__ __forceinline__ void st(bf* p, float v) { *p = __float2bfloat16_rn(v); }

__device__ __forceinline__ float apply(vg_nd_op op, float a, float b) {
    switch (op) {
        case VG_ND_COPY: return a;
        case VG_ND_ADD: return a + b;
        case VG_ND_SUB: return a - b;
        case VG_ND_MUL: return a * b;
        case VG_ND_DIV: return a / b;
        case VG_ND_POW: return powf(a, b);
        case VG_ND_MAX: return fmaxf(a, b);
        case VG_ND_MIN: return fminf(a, b);
        case VG_ND_EQUAL: return a == b ? 1.0f : 0.0f;
        case VG_ND_SILU_MUL: return a / (1.0f + expf(-a)) * b;
        case VG_ND_SIN: return sinf(a);
        case VG_ND_COS: return cosf(a);
        case VG_ND_EXP: return expf(a);
        case VG_ND_SIGMOID: return 1.0f / (1.0f + expf(-a));
        case VG_ND_NEG: return -a;
        case VG_ND_SQRT: return sqrtf(a);
        case VG_ND_TANH: return tanhf(a);
        case VG_ND_RECIPROCAL: return 1.0f / a;
        case VG_ND_ABS: return fabsf(a);
        case VG_ND_RELU: return fmaxf(a, 0.0f);
        case VG_ND_GELU_TANH: {
            const float k0 = 0.7978845608028654f, k1 = 0.044715f;
            return 0.5f * a * (1.0f + tanhf(k0 * (a + k1 * a * a * a)));
        }
        case VG_ND_GELU_ERF: return 0.5f * a * (1.0f + erff(a * 0.7071067811865476f));
        case VG_ND_SILU: return a / (1.0f + expf(-a));
        case VG_ND_ERF: return erff(a);
        case VG_ND_LOG: return logf(a);
        default: return __int_as_float(0x7fc00000);
    }
}

// One output element: op(a, b), except VG_ND_COPY_WHERE, which writes a only where b is nonzero (the rest of the
// output keeps what an earlier fill wrote).
template <typename TO>
__device__ __forceinline__ void store(vg_nd_op op, TO* out, float av, float bv) {
    if (op != VG_ND_COPY_WHERE) st(out, apply(op, av, bv));
    else if (bv != 0.0f) st(out, av);
}

// Index math in 32 bits when every offset fits (Idx = uint32_t): a rank-7 strided view (nearest upsampling through
// Expand) costs seven divisions per element, and 64-bit divisions are several times slower than 32-bit ones.
template <typename Idx, typename TO, typename TA, typename TB>
__global__ void nd_kernel(vg_nd_op op, NdArgs g, TO* out, const TA* a, const TB* b, int64_t total) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        Idx rem = static_cast<Idx>(i);
        int64_t oo = 0, oa = 0, ob = 0;
        for (int d = g.rank - 1; d >= 0; --d) {
            const Idx size = static_cast<Idx>(g.sizes[d]);
            const Idx c = rem % size;
            rem /= size;
            oo += static_cast<int64_t>(c) * g.so[d];
            oa += static_cast<int64_t>(c) * g.sa[d];
            ob += static_cast<int64_t>(c) * g.sb[d];
        }
        const float bv = b ? ld(b + ob) : 0.0f;
        store(op, out + oo, ld(a + oa), bv);
    }
}

// Contiguous fast path: every tensor dense in the index order (or a broadcast scalar b).
template <typename TO, typename TA, typename TB>
__global__ void flat_kernel(vg_nd_op op, TO* out, const TA* a, const TB* b, int64_t b_step, int64_t total) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        const float bv = b ? ld(b + i * b_step) : 0.0f;
        store(op, out + i, ld(a + i), bv);
    }
}

// Layout copies (Concat, Slice, Split, Transpose with a contiguous last dim) in 16-byte vectors: the index math runs
// once per vector instead of once per element. g is in vectors (last dim contiguous, size and strides in units of V).
template <typename Idx>
__global__ void vec_copy_kernel(NdArgs g, uint4* out, const uint4* a, int64_t total) {
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        Idx rem = static_cast<Idx>(i);
        int64_t oo = 0, oa = 0;
        for (int d = g.rank - 1; d >= 0; --d) {
            const Idx size = static_cast<Idx>(g.sizes[d]);
            const Idx c = rem % size;
            rem /= size;
            oo += static_cast<int64_t>(c) * g.so[d];
            oa += static_cast<int64_t>(c) * g.sa[d];
        }
        out[oo] = a[oa];
    }
}

// Rewrites a same-dtype copy into 16-byte vectors when the last dim is contiguous in both tensors, its size and every
// other stride are multiples of a vector, and both pointers are 16-byte aligned. Returns false to keep the element path.
bool vector_copy(const NdArgs& g, void* out, const void* a, int element_bytes, int64_t total, cudaStream_t s) {
    const int64_t v = 16 / element_bytes;
    const int last = g.rank - 1;
    if (g.so[last] != 1 || g.sa[last] != 1 || g.sizes[last] % v || !vg::aligned16(out) || !vg::aligned16(a)) return false;
    NdArgs w = g;
    for (int d = 0; d < last; ++d) {
        if (g.so[d] % v || g.sa[d] % v) return false;
        w.so[d] = g.so[d] / v;
        w.sa[d] = g.sa[d] / v;
    }
    w.sizes[last] = g.sizes[last] / v;
    const int64_t vecs = total / v;
    int64_t blocks = (vecs + 255) / 256;
    if (blocks > 65536 * 4) blocks = 65536 * 4;
    if (vecs <= UINT32_MAX)
        vec_copy_kernel<uint32_t><<<static_cast<unsigned>(blocks), 256, 0, s>>>(w, static_cast<uint4*>(out), static_cast<const uint4*>(a), vecs);
    else
        vec_copy_kernel<uint64_t><<<static_cast<unsigned>(blocks), 256, 0, s>>>(w, static_cast<uint4*>(out), static_cast<const uint4*>(a), vecs);
    return true;
}

bool f32_or_bf16(vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; }

template <typename TO, typename TA, typename TB>
vg_status launch(vg_nd_op op, const NdArgs& g, void* out, const void* a, const void* b, int64_t total, cudaStream_t s) {
    if constexpr (std::is_same_v<TO, TA>)
        if (op == VG_ND_COPY && vector_copy(g, out, a, sizeof(TO), total, s)) return vg::launch_check("vg_nd vector copy");
    const int threads = 256;
    int64_t blocks = (total + threads - 1) / threads;
    if (blocks > 65536 * 4) blocks = 65536 * 4;
    bool flat = g.rank == 1 && g.so[0] == 1 && g.sa[0] == 1 && (!b || g.sb[0] == 1 || g.sb[0] == 0);
    if (flat)
        flat_kernel<TO, TA, TB><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
            op, static_cast<TO*>(out), static_cast<const TA*>(a), static_cast<const TB*>(b), b ? g.sb[0] : 0, total);
    else if (total <= UINT32_MAX)
        nd_kernel<uint32_t, TO, TA, TB><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
            op, g, static_cast<TO*>(out), static_cast<const TA*>(a), static_cast<const TB*>(b), total);
    else
        nd_kernel<uint64_t, TO, TA, TB><<<static_cast<unsigned>(blocks), threads, 0, s>>>(
            op, g, static_cast<TO*>(out), static_cast<const TA*>(a), static_cast<const TB*>(b), total);
    return vg::launch_check("vg_nd kernel");
}

template <typename TO, typename TA>
vg_status pick_b(vg_nd_op op, const NdArgs& g, void* out, const void* a, const void* b, vg_dtype bt, int64_t total, cudaStream_t s) {
    if (b && bt == VG_DTYPE_BF16) return launch<TO, TA, bf>(op, g, out, a, b, total, s);
    return launch<TO, TA, float>(op, g, out, a, b, total, s);
}

template <typename TO>
vg_status pick_a(vg_nd_op op, const NdArgs& g, void* out, const void* a, vg_dtype at, const void* b, vg_dtype bt, int64_t total, cudaStream_t s) {
    if (at == VG_DTYPE_BF16) return pick_b<TO, bf>(op, g, out, a, b, bt, total, s);
    if (at == VG_DTYPE_INT64) return pick_b<TO, int64_t>(op, g, out, a, b, bt, total, s);
    return pick_b<TO, float>(op, g, out, a, b, bt, total, s);
}

}  // namespace

VG_API vg_status vg_nd(vg_nd_op op, int32_t rank, const int64_t* sizes, const vg_nd_tensor* out,
                       const vg_nd_tensor* a, const vg_nd_tensor* b, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_nd: " + m); };
    const bool binary = (op >= VG_ND_ADD && op <= VG_ND_MIN) || op == VG_ND_EQUAL || op == VG_ND_SILU_MUL || op == VG_ND_COPY_WHERE;
    const bool unary = op == VG_ND_COPY || (op >= VG_ND_SIN && op <= VG_ND_LOG);
    if (!binary && !unary) return bad("op " + std::to_string(static_cast<int>(op)) + " is not a vg_nd_op");
    if (rank < 0 || rank > VG_MAX_RANK) return bad("rank must be 0..8");
    if (!out || !a || !out->ptr || !a->ptr) return bad("out and a (and their pointers) must not be NULL");
    if (binary != (b != nullptr)) return bad(binary ? "binary op needs b" : "unary op takes no b");
    if (b && !b->ptr) return bad("b->ptr is NULL");
    if (!f32_or_bf16(out->dtype) || !(f32_or_bf16(a->dtype) || a->dtype == VG_DTYPE_INT64) || (b && !f32_or_bf16(b->dtype)))
        return bad("dtypes must be FP32 or BF16 (a may be INT64, read as float)");
    if (rank > 0 && !sizes) return bad("sizes is NULL");
    // merge dims (drop size-1 dims; merge neighbours contiguous in every tensor)
    NdArgs g{};
    int64_t total = 1;
    int r = 0;
    for (int d = 0; d < rank; ++d) {
        if (sizes[d] < 0) return bad("negative size");
        total *= sizes[d];
        if (sizes[d] == 1) continue;
        const int64_t so = out->strides[d], sa = a->strides[d], sb = b ? b->strides[d] : 0;
        if (r > 0 && g.so[r - 1] == so * sizes[d] && g.sa[r - 1] == sa * sizes[d] && g.sb[r - 1] == sb * sizes[d]) {
            g.sizes[r - 1] *= sizes[d];
            g.so[r - 1] = so; g.sa[r - 1] = sa; g.sb[r - 1] = sb;
            continue;
        }
        g.sizes[r] = sizes[d]; g.so[r] = so; g.sa[r] = sa; g.sb[r] = sb;
        ++r;
    }
    if (total == 0) return VG_OK;
    if (r == 0) { g.sizes[0] = 1; r = 1; }
    g.rank = r;
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    const vg_dtype bt = b ? b->dtype : VG_DTYPE_FP32;
    const void* bp = b ? b->ptr : nullptr;
    if (out->dtype == VG_DTYPE_BF16) return pick_a<bf>(op, g, out->ptr, a->ptr, a->dtype, bp, bt, total, s);
    return pick_a<float>(op, g, out->ptr, a->ptr, a->dtype, bp, bt, total, s);
    VG_GUARD_END("vg_nd")
}
