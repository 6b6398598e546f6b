// An FP8 GEMM whose epilogue writes the next linear's FP8 input: a DiT's FFN up projection (bias, GELU) feeding the
// down projection's per-row scaled FP8 GEMM without the [tokens, hidden] bf16 product in between.
//
// cuBLASLt writes no E4M3 output with a GELU epilogue (native/tests/fp8_out_probe.cpp: status 7), so the engine's FFN
// up projection wrote bf16 and a memory-bound pass (vg_quantize_fp8_rows_gelu) read it back to find each row's max and
// write the codes: at Wan 2.1 1.3B under CFG 1.76 GB of traffic per layer, 17 ms of a 593 ms forward. Here CUTLASS's
// Hopper FP8 GEMM (TMA, warp-specialized persistent ping-pong consumers, FP8 fast accumulation) carries one epilogue
// node (GeluCodes below)
//
//     codes[m, n] = e4m3_satfinite(GELU_tanh(row_scale[m] · acc[m, n] + bias[n]) / out_scale[m]),  row_scale = a_scale · w_scale
//
// and the row scale is not the row's max (which no output tile sees whole) but a bound of it that holds before the
// product exists (vg_fp8_gelu_row_scales): with x̃ the dequantized input row, |x̃_c| <= 448 · a_scale[m] for every c,
// so by Cauchy-Schwarz |z_mn| = |x̃ · w̃_n + b_n| <= sqrt(K) · 448 · a_scale[m] · max_n ||w̃_n|| + max_n |b_n|, and
// |GELU(z)| <= max(|z|, 0.17). Codes never saturate; the bound sits above the row's actual max (median 39x at Wan's
// shape on LayerNorm'd random rows; 200-600x in check_kernels' cases with one 8x loud weight row), which e4m3's exponent
// range absorbs: its normals span 2^14, so at a 40x bound values down to 1/700 of the row's max keep all three mantissa
// bits and only smaller ones, which add little to the down projection, become denormals. The down projection's output
// from these codes measured as close to the float64 FFN as from the two-pass path's (2.64e-2 vs 2.67e-2 rel. L2;
// native/tests/check_kernels.py checks it at four shapes).
//
// Built only where CUTLASS's headers are (CMake: VG_CUTLASS_INCLUDE, downloaded when missing unless VG_FETCH_CUTLASS is
// OFF) and for sm_90a; elsewhere the entry points answer VG_ERROR_NOT_SUPPORTED and the engine keeps the two passes.
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>

#include "internal.h"

#if VG_HAVE_CUTLASS
#include <cute/tensor.hpp>
#include <cutlass/cutlass.h>
#include <cutlass/epilogue/collective/collective_builder.hpp>
#include <cutlass/epilogue/fusion/sm90_callbacks_tma_warpspecialized.hpp>
#include <cutlass/gemm/collective/collective_builder.hpp>
#include <cutlass/gemm/device/gemm_universal_adapter.h>
#include <cutlass/gemm/kernel/gemm_universal.hpp>
#endif

namespace vg::fp8_gelu {

constexpr float kE4m3Max = 448.0f;
constexpr float kGeluNegativeBound = 0.17f;  // max |GELU_tanh(z)| over z <= 0 is 0.170 (at z = -0.75)
constexpr float kBoundMargin = 1.0f + 1.0f / 64;  // fp32 accumulation order, tanh.approx: the bound stays a bound

// norms[n] = || e4m3 codes of row n ||_2 (the weight's scale applied per call): one warp per row, 16 codes a lane step.
__global__ void weight_row_norms(const uint4* __restrict__ w, int64_t n, int64_t k16, float* __restrict__ norms) {
    int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
    if (row >= n) return;
    int lane = threadIdx.x % 32;
    float sum = 0.0f;
    for (int64_t i = lane; i < k16; i += 32) {
        uint4 v = w[row * k16 + i];
        const auto* c = reinterpret_cast<const __nv_fp8_e4m3*>(&v);
#pragma unroll
        for (int j = 0; j < 16; ++j) {
            float f = static_cast<float>(c[j]);
            sum = fmaf(f, f, sum);
        }
    }
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) norms[row] = sqrtf(sum);
}

// Every block first reduces max_n norms[n] and max_n |bias[n]| (n ~ 10^4: a few microseconds from L2), then writes its
// rows' scales: out_scale (the down projection's activation scale), and for the GEMM's epilogue row_scale = a_scale ·
// w_scale and inv_half = 0.5 / out_scale.
__global__ void gelu_row_scales(const float* __restrict__ a_scale, int64_t m, float sqrt_k, const float* __restrict__ norms,
                                const float* __restrict__ w_scale, const __nv_bfloat16* __restrict__ bias, int64_t n,
                                float* __restrict__ out_scale, float* __restrict__ row_scale, float* __restrict__ inv_half) {
    __shared__ float red[2][32];
    float wmax = 0.0f, bmax = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
        wmax = fmaxf(wmax, norms[i]);
        if (bias) bmax = fmaxf(bmax, fabsf(__bfloat162float(bias[i])));
    }
    for (int o = 16; o > 0; o /= 2) {
        wmax = fmaxf(wmax, __shfl_xor_sync(0xffffffffu, wmax, o));
        bmax = fmaxf(bmax, __shfl_xor_sync(0xffffffffu, bmax, o));
    }
    int warp = threadIdx.x / 32, warps = blockDim.x / 32;
    if (threadIdx.x % 32 == 0) red[0][warp] = wmax, red[1][warp] = bmax;
    __syncthreads();
    wmax = red[0][0], bmax = red[1][0];
    for (int i = 1; i < warps; ++i) wmax = fmaxf(wmax, red[0][i]), bmax = fmaxf(bmax, red[1][i]);
    const float ws = *w_scale;
    wmax *= fabsf(ws);
    for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < m;
         r += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float as = a_scale[r];
        float bound = fmaxf(sqrt_k * kE4m3Max * fabsf(as) * wmax + bmax, kGeluNegativeBound) * kBoundMargin;
        float s = bound / kE4m3Max;
        out_scale[r] = s;
        row_scale[r] = as * ws;
        inv_half[r] = 0.5f / s;
    }
}

#if VG_HAVE_CUTLASS && defined(CUTLASS_ARCH_MMA_SM90_SUPPORTED)
#define VG_FP8_GELU_GEMM 1
using namespace cute;
namespace fu = cutlass::epilogue::fusion;

using ElementA = cutlass::float_e4m3_t;  // activations [M, K], K contiguous
using ElementB = cutlass::float_e4m3_t;  // weight [N, K] (nn.Linear's [out, in]): CUTLASS's column-major K x N
using ElementD = cutlass::float_e4m3_t;  // codes [M, N], N contiguous
using LayoutA = cutlass::layout::RowMajor;
using LayoutB = cutlass::layout::ColumnMajor;
using LayoutD = cutlass::layout::RowMajor;
constexpr int kAlign = 16;  // elements of 16 bytes: K and N multiples of 16
constexpr auto kRound = cutlass::FloatRoundStyle::round_to_nearest;

// The epilogue as one node of CUTLASS's visitor tree, per element (6 FP32 instructions and one MUFU.TANH; the tree of
// separate multiply / multiply-add / GELU_taylor / multiply nodes took 8 and a per-feature weight scale vector):
//   t = acc · row_scale[m] + bias[n]                   row_scale = a_scale[m] · w_scale (per-tensor weight scale)
//   code = (t + t · tanh(t · (k0 + k1 · t²))) · inv_half[m]   = GELU_tanh(t) / out_scale[m], inv_half = 0.5 / out_scale
template <class T>
struct GeluCodes {};  // the scalar instance only answers Sm90Compute's question about Arguments (none)
template <int N>
struct GeluCodes<cutlass::Array<float, N>> {
    using Frag = cutlass::Array<float, N>;
    CUTLASS_DEVICE Frag operator()(Frag const& acc, Frag const& row_scale, Frag const& bias, Frag const& inv_half) const {
        constexpr float k0 = 0.7978845608028654f, k1 = 0.7978845608028654f * 0.044715f;
        Frag out;
        CUTLASS_PRAGMA_UNROLL
        for (int i = 0; i < N; ++i) {
            float t = fmaf(acc[i], row_scale[i], bias[i]);
            float v = t * fmaf(t * t, k1, k0);
            float th;
            asm("tanh.approx.f32 %0, %1;" : "=f"(th) : "f"(v));
            out[i] = fmaf(t, th, t) * inv_half[i];
        }
        return out;
    }
};
// acc · inv_half[m] only: what the GELU epilogue costs over the bare product's codes, measured (VG_FP8_GELU_TILE 10)
template <class T>
struct BareCodesFn {};
template <int N>
struct BareCodesFn<cutlass::Array<float, N>> {
    using Frag = cutlass::Array<float, N>;
    CUTLASS_DEVICE Frag operator()(Frag const& acc, Frag const& row_scale, Frag const& bias, Frag const& inv_half) const {
        Frag out;
        CUTLASS_PRAGMA_UNROLL
        for (int i = 0; i < N; ++i) out[i] = acc[i] * inv_half[i];
        return out;
    }
};

// The kernel for a CTA tile (M x N x K), cluster and schedule.
template <class TileShape, class ClusterShape, class Schedule, class EpilogueSchedule, template <class> class Fn = GeluCodes>
struct Config {
    using RowScale = fu::Sm90ColBroadcast<0, TileShape, float, float>;            // row_scale[m], inv_half[m]
    using Bias = fu::Sm90RowBroadcast<0, TileShape, cutlass::bfloat16_t, float>;  // bias[n] (nullptr: 0)
    using Codes = fu::Sm90EVT<fu::Sm90Compute<Fn, ElementD, float, kRound>, fu::Sm90AccFetch, RowScale, Bias, RowScale>;

    using Epilogue = typename cutlass::epilogue::collective::CollectiveBuilder<
        cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, TileShape, ClusterShape,
        cutlass::epilogue::collective::EpilogueTileAuto, float, float, void, LayoutD, kAlign, ElementD, LayoutD, kAlign,
        EpilogueSchedule, Codes>::CollectiveOp;
    using Mainloop = typename cutlass::gemm::collective::CollectiveBuilder<
        cutlass::arch::Sm90, cutlass::arch::OpClassTensorOp, ElementA, LayoutA, kAlign, ElementB, LayoutB, kAlign, float,
        TileShape, ClusterShape,
        cutlass::gemm::collective::StageCountAutoCarveout<static_cast<int>(sizeof(typename Epilogue::SharedStorage))>,
        Schedule>::CollectiveOp;
    using Kernel = cutlass::gemm::kernel::GemmUniversal<Shape<int, int, int, int>, Mainloop, Epilogue>;
    using Gemm = cutlass::gemm::device::GemmUniversalAdapter<Kernel>;
};
// The configurations (VG_FP8_GELU_TILE, the benchmark's switch; tools/bench/RESULTS.md, stop 48, has these and five more
// measured at Wan 1.3B's FFN up, 65520 x 8960 x 1536 on an H100): 5, the default, ping-pong 128 x 128 tiles, cluster 1 x 2
// (1.487-1.497 ms with the epilogue, as fast as its bare product's 1.488: the other consumer's products hide it); 6 the
// same with cluster 2 x 1 (1.477-1.514); 0 cooperative 128 x 256 (both consumers on one tile: the epilogue is not hidden,
// 1.73-1.81 against its bare product's 1.39-1.42); 10 the default's tiles without the GELU (acc · inv_half only).
using Coop = cutlass::gemm::KernelTmaWarpSpecializedCooperativeFP8FastAccum;
using Ping = cutlass::gemm::KernelTmaWarpSpecializedPingpongFP8FastAccum;
using CoopEpi = cutlass::epilogue::TmaWarpSpecializedCooperative;
using PingEpi = cutlass::epilogue::TmaWarpSpecialized;
using Coop128x256c2x1 = Config<Shape<_128, _256, _128>, Shape<_2, _1, _1>, Coop, CoopEpi>;
using Ping128x128c1x2 = Config<Shape<_128, _128, _128>, Shape<_1, _2, _1>, Ping, PingEpi>;
using Ping128x128c2x1 = Config<Shape<_128, _128, _128>, Shape<_2, _1, _1>, Ping, PingEpi>;
using BarePing128x128c1x2 = Config<Shape<_128, _128, _128>, Shape<_1, _2, _1>, Ping, PingEpi, BareCodesFn>;

template <class Gemm>
typename Gemm::Arguments arguments(const void* a, const void* w, const void* bias, const float* row_scale, const float* inv_half,
                                   int m, int n, int k, void* codes, int sm_count) {
    using Kernel = typename Gemm::GemmKernel;
    typename Kernel::StrideA sa = cute::make_stride(static_cast<int64_t>(k), cute::Int<1>{}, static_cast<int64_t>(m) * k);
    typename Kernel::StrideB sb = cute::make_stride(static_cast<int64_t>(k), cute::Int<1>{}, static_cast<int64_t>(n) * k);
    typename Kernel::StrideD sd = cute::make_stride(static_cast<int64_t>(n), cute::Int<1>{}, static_cast<int64_t>(m) * n);
    typename Kernel::StrideC sc = sd;
    typename Gemm::Arguments args{cutlass::gemm::GemmUniversalMode::kGemm,
                                  {m, n, k, 1},
                                  {static_cast<const ElementA*>(a), sa, static_cast<const ElementB*>(w), sb},
                                  {{}, nullptr, sc, static_cast<ElementD*>(codes), sd}};
    // the node's children in order (accumulator, row_scale[m], bias[n], inv_half[m]), then the node's own (none)
    args.epilogue.thread = {{}, {row_scale}, {static_cast<const cutlass::bfloat16_t*>(bias)}, {inv_half}, {}};
    args.hw_info.sm_count = sm_count;
    return args;
}

// Workspace bytes (run == false) or the launch of one configuration.
template <class C>
vg_status gemm_call(const char* fn, bool run, const void* a, const void* w, const void* bias, const float* row_scale,
                    const float* inv_half, int m, int n, int k, void* codes, int sm_count, void* workspace, size_t* workspace_bytes,
                    cudaStream_t s) {
    using Gemm = typename C::Gemm;
    auto args = arguments<Gemm>(a, w, bias, row_scale, inv_half, m, n, k, codes, sm_count);
    // the tile order (VG_FP8_GELU_RASTER: 1 along M, 2 along N; else CUTLASS's heuristic, along N here) and swizzle
    static const int raster = [] { const char* v = std::getenv("VG_FP8_GELU_RASTER"); return v ? std::atoi(v) : 0; }();
    static const int swizzle = [] { const char* v = std::getenv("VG_FP8_GELU_SWIZZLE"); return v ? std::atoi(v) : 1; }();
    using Raster = cutlass::gemm::kernel::detail::RasterOrderOptions;
    args.scheduler.raster_order = raster == 1 ? Raster::AlongM : raster == 2 ? Raster::AlongN : Raster::Heuristic;
    args.scheduler.max_swizzle_size = swizzle;
    size_t need = Gemm::get_workspace_size(args);
    if (!run) {
        *workspace_bytes = need;
        return VG_OK;
    }
    if (need > *workspace_bytes || (need && !workspace))
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": needs " + std::to_string(need) + " bytes of workspace, got " +
                                                       std::to_string(*workspace_bytes));
    Gemm gemm;
    if (gemm.can_implement(args) != cutlass::Status::kSuccess)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": CUTLASS cannot run this shape (m " + std::to_string(m) + ", n " +
                                                    std::to_string(n) + ", k " + std::to_string(k) + ")");
    if (gemm.initialize(args, workspace, s) != cutlass::Status::kSuccess)
        return vg::fail(VG_ERROR_INTERNAL, std::string(fn) + ": CUTLASS's initialize failed");
    if (gemm.run(s) != cutlass::Status::kSuccess) {
        if (auto st = vg::launch_check(fn); st != VG_OK) return st;
        return vg::fail(VG_ERROR_INTERNAL, std::string(fn) + ": CUTLASS's launch failed");
    }
    return vg::launch_check(fn);
}

// The configuration: VG_FP8_GELU_TILE (the benchmark's switch), else the default.
vg_status gemm_dispatch(const char* fn, bool run, const void* a, const void* w, const void* bias, const float* row_scale,
                        const float* inv_half, int m, int n, int k, void* codes, int sm_count, void* workspace,
                        size_t* workspace_bytes, cudaStream_t s) {
    static const int variant = [] {
        const char* v = std::getenv("VG_FP8_GELU_TILE");
        return v ? std::atoi(v) : 5;
    }();
#define VG_CALL(C) gemm_call<C>(fn, run, a, w, bias, row_scale, inv_half, m, n, k, codes, sm_count, workspace, workspace_bytes, s)
    switch (variant) {
    case 0: return VG_CALL(Coop128x256c2x1);
    case 6: return VG_CALL(Ping128x128c2x1);
    case 10: return VG_CALL(BarePing128x128c1x2);
    default: return VG_CALL(Ping128x128c1x2);
    }
#undef VG_CALL
}
#else
#define VG_FP8_GELU_GEMM 0
#endif

vg_status unavailable(const char* fn) {
#if !VG_HAVE_CUTLASS
    return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": the library was built without CUTLASS's headers (CMake's VG_CUTLASS_INCLUDE)");
#else
    return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": the library's CUTLASS kernel needs nvcc with sm_90a (CUDA 12.0+)");
#endif
}

// The device's SM count and compute capability, read once per device.
struct DeviceInfo {
    int sm_count = 0, major = 0;
};
vg_status device_info(DeviceInfo* out, const char* fn) {
    int dev = 0;
    if (auto st = vg::cuda_check(cudaGetDevice(&dev), fn); st != VG_OK) return st;
    if (auto st = vg::cuda_check(cudaDeviceGetAttribute(&out->sm_count, cudaDevAttrMultiProcessorCount, dev), fn); st != VG_OK) return st;
    return vg::cuda_check(cudaDeviceGetAttribute(&out->major, cudaDevAttrComputeCapabilityMajor, dev), fn);
}

vg_status check_shape(const char* fn, int64_t m, int64_t n, int64_t k) {
    if (m <= 0 || n <= 0 || k <= 0 || m > 0x7fffffffLL || n > 0x7fffffffLL || k > 0x7fffffffLL || n % 16 || k % 16)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": m, n, k must be positive (at most 2^31 - 1), n and k multiples of 16 (got " +
                                                       std::to_string(m) + ", " + std::to_string(n) + ", " + std::to_string(k) + ")");
    return VG_OK;
}

}  // namespace vg::fp8_gelu

using namespace vg::fp8_gelu;

extern "C" {

VG_API vg_status vg_fp8_weight_row_norms(const void* w, int64_t n, int64_t k, float* norms, void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_weight_row_norms";
    vg::clear_error();
    if (!w || !norms) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": w and norms must not be NULL");
    if (auto st = check_shape(fn, 1, n, k); st != VG_OK) return st;
    if (!vg::aligned16(w)) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": w must be 16-byte aligned");
    weight_row_norms<<<static_cast<unsigned>((n + 7) / 8), 256, 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const uint4*>(w), n, k / 16, norms);
    return vg::launch_check(fn);
    VG_GUARD_END("vg_fp8_weight_row_norms")
}

VG_API vg_status vg_fp8_gelu_row_scales(const float* a_scale, int64_t m, int64_t k, const float* w_norms, const float* w_scale,
                                        const void* bias, int64_t n, float* out_scale, float* row_scale, float* inv_half,
                                        void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gelu_row_scales";
    vg::clear_error();
    if (!a_scale || !w_norms || !w_scale || !out_scale || !row_scale || !inv_half)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": a_scale, w_norms, w_scale, out_scale, row_scale and inv_half must not be NULL");
    if (auto st = check_shape(fn, m, n, k); st != VG_OK) return st;
    unsigned blocks = static_cast<unsigned>(std::min<int64_t>((m + 255) / 256, 264));
    gelu_row_scales<<<blocks, 256, 0, static_cast<cudaStream_t>(stream)>>>(
        a_scale, m, std::sqrt(static_cast<float>(k)), w_norms, w_scale, static_cast<const __nv_bfloat16*>(bias), n, out_scale,
        row_scale, inv_half);
    return vg::launch_check(fn);
    VG_GUARD_END("vg_fp8_gelu_row_scales")
}

VG_API vg_status vg_fp8_gemm_gelu_rows_workspace_size(int64_t m, int64_t n, int64_t k, size_t* bytes) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gemm_gelu_rows_workspace_size";
    vg::clear_error();
    if (!bytes) return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": bytes must not be NULL");
    if (auto st = check_shape(fn, m, n, k); st != VG_OK) return st;
#if VG_FP8_GELU_GEMM
    DeviceInfo info;
    if (auto st = device_info(&info, fn); st != VG_OK) return st;
    if (info.major != 9)
        return vg::fail(VG_ERROR_NOT_SUPPORTED, std::string(fn) + ": the kernel is Hopper's (compute capability 9.0), this GPU is " +
                                                    std::to_string(info.major) + ".x");
    return gemm_dispatch(fn, false, nullptr, nullptr, nullptr, nullptr, nullptr, static_cast<int>(m), static_cast<int>(n),
                         static_cast<int>(k), nullptr, info.sm_count, nullptr, bytes, nullptr);
#else
    return unavailable(fn);
#endif
    VG_GUARD_END("vg_fp8_gemm_gelu_rows_workspace_size")
}

VG_API vg_status vg_fp8_gemm_gelu_rows(const void* a, const void* w, const void* bias, const float* row_scale, const float* inv_half,
                                       int64_t m, int64_t n, int64_t k, void* codes, void* workspace, size_t workspace_bytes,
                                       void* stream) {
    VG_GUARD_BEGIN
    static const char* fn = "vg_fp8_gemm_gelu_rows";
    vg::clear_error();
    if (!a || !w || !row_scale || !inv_half || !codes)
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": a, w, row_scale, inv_half and codes must not be NULL");
    if (auto st = check_shape(fn, m, n, k); st != VG_OK) return st;
    if (!vg::aligned16(a) || !vg::aligned16(w) || !vg::aligned16(codes) || !vg::aligned16(row_scale) || !vg::aligned16(inv_half) ||
        (bias && !vg::aligned16(bias)))
        return vg::fail(VG_ERROR_INVALID_ARGUMENT, std::string(fn) + ": every pointer must be 16-byte aligned");
#if VG_FP8_GELU_GEMM
    DeviceInfo info;
    if (auto st = device_info(&info, fn); st != VG_OK) return st;
    return gemm_dispatch(fn, true, a, w, bias, row_scale, inv_half, static_cast<int>(m), static_cast<int>(n), static_cast<int>(k),
                         codes, info.sm_count, workspace, &workspace_bytes, static_cast<cudaStream_t>(stream));
#else
    (void)workspace, (void)workspace_bytes, (void)stream, (void)bias;
    return unavailable(fn);
#endif
    VG_GUARD_END("vg_fp8_gemm_gelu_rows")
}

}  // extern "C"
