// Row softmax with an optional broadcast additive bias: the general attention path's probabilities (any head size,
// masks, fp32 or bf16 scores). One block per row; the row is read three times (max, sum, write), fp32 math.
#include <cmath>
#include <string>

#include "internal.h"
#include "vec.cuh"

namespace {

using bf = __nv_bfloat16;

template <typename T> __device__ __forceinline__ float ld(const T* p, int64_t i) { return vg::to_float(p[i]); }
template <typename T> __device__ __forceinline__ void st(T* p, int64_t i, float v) { p[i] = vg::from_float<T>(v); }

struct RowIndex {
    int64_t d1, d2;        // row_dims[1], row_dims[2]
    int64_t bs[4];         // bias strides
};

struct MaxOp { __device__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct SumOp { __device__ float operator()(float a, float b) const { return a + b; } };

// Reduces v over the block; lanes past the last warp's partial contribute `identity` (-inf for max, 0 for sum).
template <typename T>
__device__ float block_reduce(float v, T op, float identity, float* shared) {
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    const int warps = (blockDim.x + 31) >> 5;
    v = threadIdx.x < warps ? shared[threadIdx.x] : identity;
    if (warp == 0)
        for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    if (threadIdx.x == 0) shared[0] = v;
    __syncthreads();
    v = shared[0];
    __syncthreads();
    return v;
}

template <typename TX, typename TO, typename TB>
__global__ void softmax_kernel(const TX* x, TO* out, int64_t n, float scale, const TB* bias, RowIndex ri) {
    __shared__ float red[32];
    const int64_t row = blockIdx.x;
    const int64_t i2 = row % ri.d2, i1 = (row / ri.d2) % ri.d1, i0 = row / (ri.d2 * ri.d1);
    const int64_t boff = i0 * ri.bs[0] + i1 * ri.bs[1] + i2 * ri.bs[2];
    const TX* xr = x + row * n;
    TO* orow = out + row * n;
    float m = -INFINITY;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) m = fmaxf(m, (ld(xr, j) * scale + (bias ? ld(bias, boff + j * ri.bs[3]) : 0.0f)));
    m = block_reduce(m, MaxOp{}, -INFINITY, red);
    float sum = 0.0f;
    if (m != -INFINITY)
        for (int64_t j = threadIdx.x; j < n; j += blockDim.x) sum += __expf((ld(xr, j) * scale + (bias ? ld(bias, boff + j * ri.bs[3]) : 0.0f)) - m);
    sum = block_reduce(sum, SumOp{}, 0.0f, red);
    const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
    for (int64_t j = threadIdx.x; j < n; j += blockDim.x) st(orow, j, m == -INFINITY ? 0.0f : __expf((ld(xr, j) * scale + (bias ? ld(bias, boff + j * ri.bs[3]) : 0.0f)) - m) * inv);
}

template <typename TX, typename TO>
vg_status launch_b(const void* x, void* out, int64_t rows, int64_t n, float scale, const void* bias, vg_dtype bt, const RowIndex& ri, cudaStream_t s) {
    const int threads = n >= 1024 ? 512 : (n >= 256 ? 256 : 128);
    if (bias && bt == VG_DTYPE_BF16)
        softmax_kernel<TX, TO, bf><<<static_cast<unsigned>(rows), threads, 0, s>>>(static_cast<const TX*>(x), static_cast<TO*>(out), n, scale, static_cast<const bf*>(bias), ri);
    else
        softmax_kernel<TX, TO, float><<<static_cast<unsigned>(rows), threads, 0, s>>>(static_cast<const TX*>(x), static_cast<TO*>(out), n, scale, static_cast<const float*>(bias), ri);
    return vg::launch_check("vg_softmax_rows kernel");
}

}  // namespace

VG_API vg_status vg_softmax_rows(const void* x, vg_dtype x_dtype, void* out, vg_dtype out_dtype, const int64_t* row_dims, int64_t n,
                                 float scale, const void* bias, vg_dtype bias_dtype, const int64_t* bias_strides, void* stream) {
    VG_GUARD_BEGIN
    vg::clear_error();
    auto bad = [&](const std::string& m) { return vg::fail(VG_ERROR_INVALID_ARGUMENT, "vg_softmax_rows: " + m); };
    if (!x || !out || !row_dims) return bad("x, out and row_dims must not be NULL");
    if (bias && !bias_strides) return bad("bias needs bias_strides");
    auto ok = [](vg_dtype t) { return t == VG_DTYPE_FP32 || t == VG_DTYPE_BF16; };
    if (!ok(x_dtype) || !ok(out_dtype) || (bias && !ok(bias_dtype))) return bad("dtypes must be FP32 or BF16");
    if (n <= 0 || row_dims[0] <= 0 || row_dims[1] <= 0 || row_dims[2] <= 0) return bad("sizes must be positive");
    const int64_t rows = row_dims[0] * row_dims[1] * row_dims[2];
    if (rows > INT32_MAX) return bad("too many rows for one launch");
    RowIndex ri{row_dims[1], row_dims[2], {0, 0, 0, 0}};
    if (bias) for (int i = 0; i < 4; ++i) ri.bs[i] = bias_strides[i];
    cudaStream_t s = static_cast<cudaStream_t>(stream);
    if (x_dtype == VG_DTYPE_FP32 && out_dtype == VG_DTYPE_FP32) return launch_b<float, float>(x, out, rows, n, scale, bias, bias_dtype, ri, s);
    if (x_dtype == VG_DTYPE_FP32) return launch_b<float, bf>(x, out, rows, n, scale, bias, bias_dtype, ri, s);
    if (out_dtype == VG_DTYPE_FP32) return launch_b<bf, float>(x, out, rows, n, scale, bias, bias_dtype, ri, s);
    return launch_b<bf, bf>(x, out, rows, n, scale, bias, bias_dtype, ri, s);
    VG_GUARD_END("vg_softmax_rows")
}
