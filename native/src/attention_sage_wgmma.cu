// Sage-style attention, main kernel for Hopper's warpgroup MMA (wgmma, sm_90a): the algorithm and the workspace of
// attention_sage.cu (INT8 Q·Kᵀ per 16 queries x 64 keys, smoothed K, FP8 P·V with per-channel V scales), on the
// asynchronous tensor-core path that mma.sync cannot reach. The structure is FlashAttention-3's (Shah et al.,
// "FlashAttention-3: Fast and Accurate Attention with Asynchrony and Low-precision", 2024), reimplemented here:
//
//   one CTA = 128 queries of one (b, h), key blocks of N = 192 (default) or 128 keys, three warpgroups:
//     warpgroup 0, the producer: one thread issues TMA copies of the Q tile (once, 128 x 128 bytes) and of each key
//       block's K tile (N rows of 128 bytes) and Vᵀ tile (128 rows of N keys: 128 keys in the 128-byte swizzle, the
//       other 64 of a 192-key block in the 64-byte swizzle, the copy engine swizzling them into the patterns wgmma
//       reads) into a ring of kStages stages; it gives its registers away (setmaxnreg 24);
//     warpgroups 1 and 2, the consumers: 64 query rows each (setmaxnreg 240), per key block j:
//       S_j = Q · K_jᵀ         wgmma m64nNk32 s8·s8 -> s32, both operands from shared memory        (issued)
//       O  += P_{j-1} · V_{j-1} wgmma m64n128k32 e4m3·e4m3 -> f32 x N/32, P from registers           (issued)
//       r  = P_{j-1} · 1        wgmma m64n8k32 e4m3·e4m3 -> f32 x N/32 against a tile of ones: P's row sums  (issued)
//       wait for S_j; online softmax of S_j (exponentials on the FMA pipe, below) while the P·V product runs;
//       wait for O; l = (l + r) · 2^(m_old − m_new); O *= 2^(m_old − m_new) unless no row maximum of the warp moved;
//       P_j = e4m3(448 · 2^(S_j − m_new)) packed in registers.
//     Full/empty mbarriers hand stages between the producer and the consumers.
//
// Dequantizing S costs one integer add per score: an int32 s with |s| < 2^22 (here |s| <= 127 · 127 · 128) plus the
// bits of 1.5 · 2^23 is the float 1.5 · 2^23 + s exactly, so 2^(s·c − m) = 2^(x·c − (1.5 · 2^23 · c + m)) with
// x = __int_as_float(s + 0x4B400000): one FFMA per score, no int-to-float conversion.
//
// The exponentials never touch the MUFU (whose 16 per clock and SM make them cost as much as both products at head_dim
// 128), nor are they converted to e4m3: P only has to be right to e4m3's 3 mantissa bits, so the e4m3 code of 448 · 2^y
// is built directly (Schraudolph's linear mantissa): J = round(8·(y + 7) − δ), clamped to [0, 126], read as e4m3 bits
// (exponent field J >> 3, mantissa J & 7) is 2^((J >> 3) − 7) · (1 + (J & 7)/8) for J >= 8. Two FFMAs: yn = sat((8·(y
// + 7) − δ) / 126) clamps, t = 2^23 + 126 · yn rounds 126 · yn to the integer J in t's low byte, and three byte permutes
// gather four codes into an A-fragment register (stop 47; before, P was the float with the bits of I << 20, I = J + 960,
// converted by F2FP: a shift and half a conversion more per score). The linear mantissa is within +6.1 % / −0 % of
// 2^f; δ = 0.459 (0.057 in y) centres it, so P carries a relative error of rms 3.2 % where e4m3 rounding alone has 2.7 % (an unbiased one: the row sums add the same P). Codes
// J < 8 (448 · P < 2^-6, i.e. P < 3.5e-5 of the row's maximum) read as e4m3's denormals J · 2^-9 rather than 2^-7 · (1 +
// J/8), and J < 0 as 0: those smallest P are under-counted (the rule with the conversion rounded them to denormals). The
// bias holds 1.5 · 2^23 · c (c = q_scale · k_scale) as an fp32, so y is off by up to half its ulp: nothing at Wan's or
// FLUX's scales (c ~ 1e-3; 0.006 with q x40), P off by whole e4m3 steps from c ~ 0.1 (the normalization by the same P's
// sums keeps the output close), and every P of a row 0 (the output NaN) from c ~ 256, logits of ~10^5 in log2 units
// (tools/device/experiments/code_rule_sim.c simulated the former rule's fp32 formulas, stop 36; the clamp at 126 keeps
// every code finite). The masked last block keeps ex2.approx and the conversion. The row sums come from the tensor core
// (r above), so they add exactly the e4m3 P that multiplies V.
//
// P's accumulator-to-A-fragment trick and the key permutation of Vᵀ are those of the mma.sync kernel (key_perm in
// attention_sage.cu): wgmma's accumulator (per warp: rows 16w + g and 16w + g + 8, columns 8i + 2t, 8i + 2t + 1) and
// its 8-bit A register fragment (a0: row g, k 4t..4t+3; a1: row g + 8; a2, a3: k + 16) are, per warp, those of
// mma.m16n8k32 (PTX ISA, "Asynchronous Warpgroup Level Matrix Fragments").
//
// The O accumulation stays in the tensor core for the whole key loop, as FlashAttention-3's and cuDNN's FP8 kernels
// do (the mma.sync kernel adds each block's product in fp32 instead; check_kernels.py measures the difference).
//
// Measured on an H200 and not kept (tools/bench/RESULTS.md, stop 24), each no faster than this kernel's 15.7 ms at Wan's
// self-attention: ping-pong named barriers between the consumers, exponentials as fp16 pairs (ex2.approx.f16x2),
// rescaling O only when a warp's row maximum moved, DPX three-way integer maxima, three K/Vᵀ stages, P packed to e4m3
// before the P·V wait (19.2 ms), and row sums from ones columns under Vᵀ (m64n136k32: 19.3 ms and less accurate).
// Stop 25: a quarter to a half of the exponentials by a degree-2 polynomial on the FMA pipe (FlashAttention-4's trick)
// made it slower (16.4-17.3 ms); Nsight Compute shows why: the MUFU pipe is not the limit, the schedulers issue in 47%
// of cycles (two consumer warps each, 'stall wait' on dependent instructions first), the tensor pipe is 44% active.
// Kept from that round: four partial row sums and the key scales loaded before the waits (15.66 vs 15.88 ms).
// Stop 27: key blocks of 192 instead of 128 keys (the per-block work of the softmax, the O rescale included, spread over
// 1.5x the scores): 15.20 vs 15.74 ms at Wan's self-attention in the same process (867 TFLOP/s), kept as the default.
// Issuing S_{j+1} right after the softmax of S_j (under O's rescale and P_j's packing) made ptxas serialize the
// wgmmas (C7514: accumulator registers read between a wgmma's start and end): 20.1 ms.
// Stop 28: the producer's try_wait loop spins (about 340 tries per key block, 10 % of the kernel's warp instructions,
// on a scheduler it shares with two consumer warps), but a suspend-time hint that makes it sleep instead was slower
// (15.33 vs 15.15 ms): the consumers' stalls are their own dependency chains (Nsight Compute per instruction: the
// exponentials wait on the FFMA before them and on the MUFU queue).
// Stop 30: Q and smoothed K as E4M3 codes (m64n192k32 e4m3 -> fp32 scores, no integer add before each exponent): correct
// against its emulation but slower (15.77 vs 15.13 ms) and less accurate (cosine 0.9957 vs >= 0.999 against fp32 SDPA
// at Wan's shape). On sm_90 ex2.approx.f16x2 is two MUFU.EX2.F16: at head_dim 128 in FP8 the exponentials cost the MUFU
// pipe as much time per score as the two products cost the tensor core.
// Stop 32: S_{j+1} issued before the softmax of S_j needs a second score buffer; left in flight across the loop's back
// edge ptxas serializes the wgmmas (C7514), and awaited within the step the two buffers, O, P and the softmax's
// temporaries exceed 240 registers (440-550 bytes of spills per thread): 17.1 vs 15.6 ms at 128-key blocks. Ping-pong
// and P written in place of the scores at 192-key blocks: within the noise (15.08-15.25 vs 14.99-15.30 ms).
// Stop 33: Nsight Compute's per-instruction samples at 192-key blocks: 758 warp instructions per key block and consumer
// warp (7.9 per score: 98 MUFU.EX2, 106 FADD, 104 FFMA, 96 IADD for the magic-number dequantization, 73 FMUL, 48 F2FP),
// the XU pipe (the exponentials alone) 47 % busy, 29 % of all stall samples on the MUFU.EX2s ('wait' and MIO throttle).
// The row sums moved to the tensor core (per key block, m64n8k32 of the e4m3 P against a ones tile, issued with P·V: 90
// fewer instructions per block, 12 %) were correct but no faster (15.17 / 15.01 vs 15.11 / 15.20 ms): the loop is not
// bound by its instruction count but by the exponentials' phase of each block.
// Stop 34: the exponentials on the FMA pipe as above (a mask of 0-8 tiles of 8 selectable while measuring; at 4 of 8
// already 13.6-14.2 ms), then the tensor-core row sums again and O rescaled only when a row maximum moved: 13.30-13.32
// vs 14.90-15.34 ms at Wan's self-attention, FLUX joint 0.340 vs 0.375 ms (tools/bench/RESULTS.md, stop 34). The
// same in integer arithmetic (F = A·s + B by one IMAD on the int32 scores, s first raised to the smallest with F >= 0)
// has fewer instructions and was slower (14.4-15.6 ms): not kept.
#include <cuda.h>
#include <cuda_bf16.h>
#include <cuda_fp8.h>

#include <string>

#include "internal.h"
#include "sage.h"

// Tensor maps (CUtensorMap) and cudaGetDriverEntryPointByVersion: CUDA 12.5 or newer. Older toolkits compile the
// rest of the library; the plan then never picks this kernel (wgmma_available says why).
#if defined(CUDA_VERSION) && CUDA_VERSION >= 12050
#define VG_SAGE_WGMMA_HOST 1
#else
#define VG_SAGE_WGMMA_HOST 0
#endif

// wgmma, setmaxnreg and the tensor copies exist only in sm_90a code; the compute_90 PTX of the library traps.
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL) && VG_SAGE_WGMMA_HOST
#define VG_SAGE_WGMMA_DEVICE 1
#else
#define VG_SAGE_WGMMA_DEVICE 0
#endif

namespace vg::sage {
namespace {

#if VG_SAGE_WGMMA_HOST
constexpr int kBlock = kWgmmaBlock;   // queries per CTA and head_dim: 128 each
constexpr int kQTile = kBlock * kBlock; // bytes of the Q tile (8-bit elements)
constexpr int kStages = 2;             // K and Vᵀ stages in the ring (three measured no faster)
constexpr int kThreads = 384;          // producer warpgroup + two consumer warpgroups
constexpr int kOnes = 1024;            // bytes of the ones tile (e4m3 1.0 = 0x38) the row sums multiply P with

// A key block of N keys (128 or 192): its K tile (N rows of 128 bytes) and its Vᵀ tile (128 rows of N keys: the first
// 128 keys in the 128-byte swizzle, the other N − 128 in the 64-byte swizzle: a swizzled row holds at most 128 bytes).
template <int N>
struct Keys {
    static_assert(N == 128 || N == 192, "key blocks of 128 or 192");
    static constexpr int kTileK = N * kBlock, kTileV = kBlock * N, kTail = N - 128;
    static constexpr int kTiles = N / 8;      // 8-key accumulator tiles of S per thread row pair
    static constexpr int kGroups = N / 64;    // key scales per block (kKGroup keys each)
    static constexpr int kSteps = N / 32;     // k32 steps of P·V
    static constexpr int kSmem = kQTile + kStages * (kTileK + kTileV) + 8 * (1 + 4 * kStages) + kOnes + 2048;  // + the ones tile, + alignment slack (1024 each)
};
// The two geometries (also what keeps the host pass from calling these members unreferenced: only device code reads them).
static_assert(Keys<128>::kTail == 0 && Keys<128>::kTiles == 16 && Keys<128>::kGroups == 2 && Keys<128>::kSteps == 4,
              "128-key blocks: 16 accumulator tiles, 2 key scales, 4 k32 steps of P·V");
static_assert(Keys<192>::kTail == 64 && Keys<192>::kTiles == 24 && Keys<192>::kGroups == 3 && Keys<192>::kSteps == 6,
              "192-key blocks: a 64-key Vᵀ tail, 24 accumulator tiles, 3 key scales, 6 k32 steps of P·V");

struct Params {
    CUtensorMap q_map;  // q8 as [B·H·Sq_pad rows][128 bytes]
    CUtensorMap k_map;  // k8 as [B·Hkv·Skv_pad rows][128 bytes], boxes of N rows
    CUtensorMap v_map;  // vt8 as [B·Hkv·128 rows][Skv_pad bytes], boxes of 128 keys
    CUtensorMap v_tail_map;  // the same, boxes of N − 128 keys in the 64-byte swizzle (N = 192)
    const float* qscale;
    const float* kscale;
    const float* vscale;
    __nv_bfloat16* out;
    int64_t os_b, os_s, os_h;
    int heads, kv_heads, sq, skv, sq_pad, skv_pad;
};
#endif

#if VG_SAGE_WGMMA_DEVICE
constexpr float kLog2Fp8Max = 8.807354922057604f;  // log2(448)
constexpr int kMagic = 0x4B400000;                 // the bits of 1.5 · 2^23
constexpr float kMagicF = 12582912.0f;             // 1.5 · 2^23

// ---- mbarriers and the tensor copy --------------------------------------------------------------------------------
__device__ __forceinline__ void bar_init(uint32_t bar, uint32_t count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void bar_expect(uint32_t bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bar_arrive(uint32_t bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar) : "memory");
}
// Waits until the phase with this parity has completed (a fresh barrier counts its parity-1 phase as complete).
__device__ __forceinline__ void bar_wait(uint32_t bar, uint32_t parity) {
    uint32_t done = 0;
    do {
        asm volatile(
            "{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
            : "=r"(done)
            : "r"(bar), "r"(parity)
            : "memory");
    } while (!done);
}
__device__ __forceinline__ void tma_load(uint32_t dst, const CUtensorMap* map, int x, int y, uint32_t bar) {
    asm volatile(
        "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n" ::"r"(dst),
        "l"(reinterpret_cast<uint64_t>(map)), "r"(x), "r"(y), "r"(bar)
        : "memory");
}

// ---- wgmma --------------------------------------------------------------------------------------------------------
// Shared-memory matrix descriptor of a K-major tile in the 128-byte swizzle (rows of 128 bytes, 8-row groups 1024
// bytes apart, the tile 1024-byte aligned): start address >> 4 in bits 0-13, leading byte offset 16 (unused for this
// layout) in 16-29, stride byte offset 1024 in 32-45, layout "128B swizzle" (1) in 62-63. A k32 step of 8-bit
// elements is 32 bytes further: + 2 in the start-address field.
__device__ __forceinline__ uint64_t tile_desc(uint32_t addr) {
    return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1) << 16) |
           (static_cast<uint64_t>(1024 >> 4) << 32) | (static_cast<uint64_t>(1) << 62);
}
// The same for a tile of 64-byte rows in the 64-byte swizzle (8-row groups 512 bytes apart, the tile 512-byte aligned).
__device__ __forceinline__ uint64_t tile_desc64(uint32_t addr) {
    return static_cast<uint64_t>((addr & 0x3FFFF) >> 4) | (static_cast<uint64_t>(1) << 16) |
           (static_cast<uint64_t>(512 >> 4) << 32) | (static_cast<uint64_t>(2) << 62);
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N>
__device__ __forceinline__ void wgmma_wait() {
    asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
// Keeps the compiler from moving reads or writes of registers an asynchronous wgmma owns across this point.
template <int N>
__device__ __forceinline__ void own(int (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+r"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void own(float (&r)[N]) {
#pragma unroll
    for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void own(uint32_t (&r)[N][4]) {
#pragma unroll
    for (int i = 0; i < N; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) asm volatile("" : "+r"(r[i][j])::"memory");
}

// S (+)= Q · Kᵀ for one k32 step: 64 query rows x 128 keys, int8 operands from shared memory (both K-major).
__device__ __forceinline__ void wgmma_qk(int (&d)[64], uint64_t desc_q, uint64_t desc_k, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, %64, %65, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63])
        : "l"(desc_q), "l"(desc_k), "r"(accumulate));
}

// S (+)= Q · Kᵀ for one k32 step with 192-key blocks: 64 query rows x 192 keys.
__device__ __forceinline__ void wgmma_qk(int (&d)[96], uint64_t desc_q, uint64_t desc_k, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %98, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n192k32.s32.s8.s8 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63, %64, %65, %66, %67, %68, %69, %70, %71, %72, %73, %74, %75, %76, %77, %78, %79, %80, %81, %82, %83, %84, %85, %86, %87, %88, %89, %90, %91, %92, %93, %94, %95}, %96, %97, p;\n}\n"
        : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3]), "+r"(d[4]), "+r"(d[5]), "+r"(d[6]), "+r"(d[7]),
          "+r"(d[8]), "+r"(d[9]), "+r"(d[10]), "+r"(d[11]), "+r"(d[12]), "+r"(d[13]), "+r"(d[14]), "+r"(d[15]),
          "+r"(d[16]), "+r"(d[17]), "+r"(d[18]), "+r"(d[19]), "+r"(d[20]), "+r"(d[21]), "+r"(d[22]), "+r"(d[23]),
          "+r"(d[24]), "+r"(d[25]), "+r"(d[26]), "+r"(d[27]), "+r"(d[28]), "+r"(d[29]), "+r"(d[30]), "+r"(d[31]),
          "+r"(d[32]), "+r"(d[33]), "+r"(d[34]), "+r"(d[35]), "+r"(d[36]), "+r"(d[37]), "+r"(d[38]), "+r"(d[39]),
          "+r"(d[40]), "+r"(d[41]), "+r"(d[42]), "+r"(d[43]), "+r"(d[44]), "+r"(d[45]), "+r"(d[46]), "+r"(d[47]),
          "+r"(d[48]), "+r"(d[49]), "+r"(d[50]), "+r"(d[51]), "+r"(d[52]), "+r"(d[53]), "+r"(d[54]), "+r"(d[55]),
          "+r"(d[56]), "+r"(d[57]), "+r"(d[58]), "+r"(d[59]), "+r"(d[60]), "+r"(d[61]), "+r"(d[62]), "+r"(d[63]),
          "+r"(d[64]), "+r"(d[65]), "+r"(d[66]), "+r"(d[67]), "+r"(d[68]), "+r"(d[69]), "+r"(d[70]), "+r"(d[71]),
          "+r"(d[72]), "+r"(d[73]), "+r"(d[74]), "+r"(d[75]), "+r"(d[76]), "+r"(d[77]), "+r"(d[78]), "+r"(d[79]),
          "+r"(d[80]), "+r"(d[81]), "+r"(d[82]), "+r"(d[83]), "+r"(d[84]), "+r"(d[85]), "+r"(d[86]), "+r"(d[87]),
          "+r"(d[88]), "+r"(d[89]), "+r"(d[90]), "+r"(d[91]), "+r"(d[92]), "+r"(d[93]), "+r"(d[94]), "+r"(d[95])
        : "l"(desc_q), "l"(desc_k), "r"(accumulate));
}

// O += P · V for one k32 step: 64 query rows x 128 channels, P (e4m3) from registers, Vᵀ (e4m3) from shared memory.
__device__ __forceinline__ void wgmma_pv(float (&d)[64], const uint32_t (&a)[4], uint64_t desc_v) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n128k32.f32.e4m3.e4m3 "
        "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, %16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31, %32, %33, %34, %35, %36, %37, %38, %39, %40, %41, %42, %43, %44, %45, %46, %47, %48, %49, %50, %51, %52, %53, %54, %55, %56, %57, %58, %59, %60, %61, %62, %63}, {%64, %65, %66, %67}, %68, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]),
          "+f"(d[8]), "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]),
          "+f"(d[16]), "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]),
          "+f"(d[24]), "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31]),
          "+f"(d[32]), "+f"(d[33]), "+f"(d[34]), "+f"(d[35]), "+f"(d[36]), "+f"(d[37]), "+f"(d[38]), "+f"(d[39]),
          "+f"(d[40]), "+f"(d[41]), "+f"(d[42]), "+f"(d[43]), "+f"(d[44]), "+f"(d[45]), "+f"(d[46]), "+f"(d[47]),
          "+f"(d[48]), "+f"(d[49]), "+f"(d[50]), "+f"(d[51]), "+f"(d[52]), "+f"(d[53]), "+f"(d[54]), "+f"(d[55]),
          "+f"(d[56]), "+f"(d[57]), "+f"(d[58]), "+f"(d[59]), "+f"(d[60]), "+f"(d[61]), "+f"(d[62]), "+f"(d[63])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_v), "r"(1));
}

// r (+)= P · 1 for one k32 step: the row sums of the e4m3 P on the tensor core (64 rows x 8 equal columns; this thread's
// rows in r[0] and r[2]), B from a tile of e4m3 ones (any layout reads ones: every byte of the tile is 0x38).
__device__ __forceinline__ void wgmma_rowsum(float (&d)[4], const uint32_t (&a)[4], uint64_t desc_ones, int accumulate) {
    asm volatile(
        "{\n.reg .pred p;\nsetp.ne.b32 p, %9, 0;\n"
        "wgmma.mma_async.sync.aligned.m64n8k32.f32.e4m3.e4m3 {%0, %1, %2, %3}, {%4, %5, %6, %7}, %8, p, 1, 1;\n}\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(desc_ones), "r"(accumulate));
}

__device__ __forceinline__ float quad_max(float x) {
    x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
    return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}

// P's e4m3 codes, in the accumulator layout (8-key tile i holds row g's keys 2t, 2t+1 in [i][0..1] and row g + 8's in
// [i][2..3]), come out of the softmax as two words per A-fragment register of the k32 steps of O += P · V (layout:
// key_perm in attention_sage.cu): x with the first two codes in bytes 0-1, y with the other two in bytes 2-3. One byte
// permute per register puts them together, after the tensor core is done with pa.
template <int W>
__device__ __forceinline__ void pack_p(const uint32_t (&x)[W][4], const uint32_t (&y)[W][4], uint32_t (&pa)[W][4]) {
#pragma unroll
    for (int kc = 0; kc < W; ++kc)
#pragma unroll
        for (int j = 0; j < 4; ++j) pa[kc][j] = __byte_perm(x[kc][j], y[kc][j], 0x7610);
}

// The online softmax of one key block (T 8-key tiles) for this thread's two rows (r = 0: row g, r = 1: row g + 8).
// s: the block's int32 scores; c[k]: the scales (query scale · key scale, in the log2 domain) of keys 64k .. 64k + 63.
// Writes the e4m3 codes of P = 448 · 2^(score − m_new) (see the top of the file) as pack_p takes them, updates m and
// returns 2^(m_old − m_new), the factor O and l must be scaled by (the row sums are the tensor core's). Masked: keys from
// `valid` on (the last block) get P = 0 and take no part in the maximum.
template <int T, bool kMasked>
__device__ __forceinline__ void softmax_block(const int (&s)[4 * T], uint32_t (&px)[T / 4][4], uint32_t (&py)[T / 4][4],
                                              const float (&c)[T / 8], int col0, int valid, float (&m)[2], float (&alpha)[2]) {
    constexpr int G = T / 8;  // key-scale groups of 64 keys
    float mx[2];
    if (!kMasked) {
        // the maxima of the integer scores per group (each group has one scale), then one conversion per group and row
        int a[G][2];
#pragma unroll
        for (int k = 0; k < G; ++k) {
            a[k][0] = s[32 * k];
            a[k][1] = s[32 * k + 2];
#pragma unroll
            for (int i = 0; i < 8; ++i) {
                a[k][0] = max(a[k][0], max(s[32 * k + 4 * i], s[32 * k + 4 * i + 1]));
                a[k][1] = max(a[k][1], max(s[32 * k + 4 * i + 2], s[32 * k + 4 * i + 3]));
            }
        }
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            mx[r] = static_cast<float>(a[0][r]) * c[0];
#pragma unroll
            for (int k = 1; k < G; ++k) mx[r] = fmaxf(mx[r], static_cast<float>(a[k][r]) * c[k]);
        }
    } else {
        mx[0] = mx[1] = -INFINITY;
#pragma unroll
        for (int i = 0; i < T; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                if (col0 + 8 * i + (e & 1) < valid)
                    mx[e >> 1] = fmaxf(mx[e >> 1], static_cast<float>(s[4 * i + e]) * c[i / 8]);
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const float mn = fmaxf(m[r], quad_max(mx[r]));  // finite: every block has a valid key in every row
        alpha[r] = ex2(m[r] - mn);                        // 0 on the first block (m = -inf)
        m[r] = mn;
    }
    if (kMasked) {  // ex2.approx of y = s·c − m + log2 448, 0 past `valid`, converted to e4m3 (x and y: all four codes)
        float pf[T][4];
#pragma unroll
        for (int i = 0; i < T; ++i)
#pragma unroll
            for (int e = 0; e < 4; ++e)
                pf[i][e] = col0 + 8 * i + (e & 1) < valid ? ex2(static_cast<float>(s[4 * i + e]) * c[i / 8] - m[e >> 1] + kLog2Fp8Max) : 0.0f;
#pragma unroll
        for (int kc = 0; kc < T / 4; ++kc) {
            const int t = 4 * kc;
            px[kc][0] = fp8x2(pf[t][0], pf[t][1]) | (fp8x2(pf[t + 1][0], pf[t + 1][1]) << 16);
            px[kc][1] = fp8x2(pf[t][2], pf[t][3]) | (fp8x2(pf[t + 1][2], pf[t + 1][3]) << 16);
            px[kc][2] = fp8x2(pf[t + 2][0], pf[t + 2][1]) | (fp8x2(pf[t + 3][0], pf[t + 3][1]) << 16);
            px[kc][3] = fp8x2(pf[t + 2][2], pf[t + 2][3]) | (fp8x2(pf[t + 3][2], pf[t + 3][3]) << 16);
#pragma unroll
            for (int j = 0; j < 4; ++j) py[kc][j] = px[kc][j];
        }
        return;
    }
    // The code of 448 · 2^y, y = s·c − m + log2 448, is J = clamp(round(8·(y + 7) − δ), 0, 126) (top of the file). With
    // x = the float with the bits of s + 0x4B400000 (= 1.5 · 2^23 + s exactly), y = x·c − bias, bias = 1.5 · 2^23 · c + m
    // − log2 448, so yn = sat(x · 8c/126 + (56 − δ − 8·bias)/126), and t = 2^23 + 126 · yn, rounded to the integer J, has J
    // in its low byte.
    constexpr float kDelta = 0.459f;  // centres the linear mantissa's error (0.057 in y)
    float cs[G], bs[2][G];
#pragma unroll
    for (int k = 0; k < G; ++k) {
        cs[k] = c[k] * (8.0f / 126.0f);
#pragma unroll
        for (int r = 0; r < 2; ++r)
            bs[r][k] = (56.0f - kDelta - 8.0f * fmaf(kMagicF, c[k], m[r] - kLog2Fp8Max)) * (1.0f / 126.0f);
    }
    uint32_t t[T][4];
#pragma unroll
    for (int i = 0; i < T; ++i)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            float yn;
            asm("fma.rn.sat.f32 %0, %1, %2, %3;\n"
                : "=f"(yn)
                : "f"(__int_as_float(s[4 * i + e] + kMagic)), "f"(cs[i / 8]), "f"(bs[e >> 1][i / 8]));
            t[i][e] = __float_as_uint(fmaf(yn, 126.0f, 8388608.0f));
        }
    // register j of k32 step kc holds tiles i, i + 1 (i = 4kc + 2(j / 2)), scores e, e + 1 (e = 2(j % 2)), in bytes 0-3
#pragma unroll
    for (int kc = 0; kc < T / 4; ++kc)
#pragma unroll
        for (int j = 0; j < 4; ++j) {
            const int i = 4 * kc + 2 * (j / 2), e = 2 * (j % 2);
            px[kc][j] = __byte_perm(t[i][e], t[i][e + 1], 0x0040);          // bytes 0, 1
            py[kc][j] = __byte_perm(t[i + 1][e], t[i + 1][e + 1], 0x4000);  // bytes 2, 3
        }
}
#endif  // VG_SAGE_WGMMA_DEVICE

#if VG_SAGE_WGMMA_HOST
template <int N>
__global__ void __launch_bounds__(kThreads, 1) sage_attend_wgmma(const __grid_constant__ Params p) {
#if VG_SAGE_WGMMA_DEVICE
    using K = Keys<N>;
    extern __shared__ uint8_t smem_raw[];
    const uint32_t base = (smem_u32(smem_raw) + 1023u) & ~1023u;  // the 128-byte swizzle wants 1024-byte tiles
    const uint32_t s_q = base, s_k = base + kQTile, s_v = s_k + kStages * K::kTileK;  // every tile 1024-byte aligned
    const uint32_t bars = s_v + kStages * K::kTileV;
    const uint32_t q_full = bars;
    const uint32_t s_ones = (bars + 8u * (1 + 4 * kStages) + 1023u) & ~1023u;
    auto k_full = [&](int s) { return bars + 8u * (1 + s); };
    auto v_full = [&](int s) { return bars + 8u * (1 + kStages + s); };
    auto k_empty = [&](int s) { return bars + 8u * (1 + 2 * kStages + s); };
    auto v_empty = [&](int s) { return bars + 8u * (1 + 3 * kStages + s); };

    const int tid = threadIdx.x, wg = tid / 128;
    const int qblk = blockIdx.x, h = blockIdx.y, b = blockIdx.z, hk = h / (p.heads / p.kv_heads);
    const int bhk = b * p.kv_heads + hk;
    const int nk = (p.skv + N - 1) / N;

    if (tid == 0) {
        bar_init(q_full, 1);
        for (int s = 0; s < kStages; ++s) {
            bar_init(k_full(s), 1);
            bar_init(v_full(s), 1);
            bar_init(k_empty(s), 8);  // one arrival per consumer warp
            bar_init(v_empty(s), 8);
        }
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    // the ones tile, written through the generic proxy and read by wgmma through the async one
    for (int i = threadIdx.x; i < kOnes / 4; i += blockDim.x)
        asm volatile("st.shared.u32 [%0], %1;\n" ::"r"(s_ones + 4u * i), "r"(0x38383838u) : "memory");
    asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
    __syncthreads();

    if (wg == 0) {  // producer
        asm volatile("setmaxnreg.dec.sync.aligned.u32 24;\n" ::: "memory");
        if (tid == 0) {
            bar_expect(q_full, kQTile);
            tma_load(s_q, &p.q_map, 0, (b * p.heads + h) * p.sq_pad + qblk * kBlock, q_full);
            for (int j = 0; j < nk; ++j) {
                const int s = j % kStages;
                const uint32_t free_parity = ((j / kStages) & 1) ^ 1;
                bar_wait(k_empty(s), free_parity);
                bar_expect(k_full(s), K::kTileK);
                tma_load(s_k + s * K::kTileK, &p.k_map, 0, bhk * p.skv_pad + j * N, k_full(s));
                bar_wait(v_empty(s), free_parity);
                bar_expect(v_full(s), K::kTileV);
                const uint32_t v_tile = s_v + s * K::kTileV;
                tma_load(v_tile, &p.v_map, j * N, bhk * kBlock, v_full(s));
                if (K::kTail) tma_load(v_tile + kBlock * 128, &p.v_tail_map, j * N + 128, bhk * kBlock, v_full(s));
            }
        }
        return;
    }

    // consumers
    asm volatile("setmaxnreg.inc.sync.aligned.u32 240;\n" ::: "memory");
    const int cw = wg - 1, t = tid % 128, warp = t / 32, lane = t % 32, g = lane >> 2, tq = lane & 3;
    const int row0 = qblk * kBlock + cw * 64 + warp * 16 + g;  // this thread's rows: row0 and row0 + 8
    const float q_scale = p.qscale[(b * p.heads + h) * (p.sq_pad / kQGroup) + (row0 - g) / kQGroup];
    const int n_kscales = p.skv_pad / kKGroup;
    const float* k_scales = p.kscale + static_cast<int64_t>(bhk) * n_kscales;
    const uint64_t dq = tile_desc(s_q + cw * 64 * kBlock);

    float o[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) o[i] = 0.0f;
    int s[4 * K::kTiles];
    uint32_t pa[K::kSteps][4];  // P of the block in the tensor core (e4m3 A fragments)
    uint32_t px[K::kSteps][4], py[K::kSteps][4];  // P of the next block (pack_p), until the tensor core is done with pa
    float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f}, alpha[2];
    float rs[4] = {0.0f, 0.0f, 0.0f, 0.0f};  // the row sums of the P in flight (tensor core)
    // the ones tile's descriptor: no swizzle, leading byte offset 128, stride byte offset 256 (one k32 step reads 256 bytes)
    const uint64_t d_ones = static_cast<uint64_t>((s_ones & 0x3FFFF) >> 4) | (static_cast<uint64_t>(128 >> 4) << 16) |
                            (static_cast<uint64_t>(256 >> 4) << 32);

    auto issue_qk = [&](int stage) {
        const uint64_t dk = tile_desc(s_k + stage * K::kTileK);
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < 4; ++kk) wgmma_qk(s, dq + 2 * kk, dk + 2 * kk, kk);
        wgmma_commit();
    };
    auto issue_pv = [&](int stage) {
        const uint32_t v_tile = s_v + stage * K::kTileV;
        const uint64_t dv = tile_desc(v_tile), dv_tail = tile_desc64(v_tile + kBlock * 128);
        wgmma_fence();
#pragma unroll
        for (int kc = 0; kc < K::kSteps; ++kc) wgmma_pv(o, pa[kc], kc < 4 ? dv + 2 * kc : dv_tail + 2 * (kc - 4));
#pragma unroll
        for (int kc = 0; kc < K::kSteps; ++kc) wgmma_rowsum(rs, pa[kc], d_ones, kc);
        wgmma_commit();
    };
    auto release = [&](uint32_t bar) {
        __syncwarp();
        if (lane == 0) bar_arrive(bar);
    };
    // the block's key scales (a block past the end of the scales, keys all masked, reads 0)
    auto key_scales = [&](int j, float (&ks)[K::kGroups]) {
#pragma unroll
        for (int k = 0; k < K::kGroups; ++k) ks[k] = K::kGroups * j + k < n_kscales ? k_scales[K::kGroups * j + k] : 0.0f;
    };
    auto softmax = [&](int j, const float (&ks)[K::kGroups]) {
        float c[K::kGroups];
#pragma unroll
        for (int k = 0; k < K::kGroups; ++k) c[k] = q_scale * ks[k];
        const int col0 = j * N + 2 * tq;
        if ((j + 1) * N <= p.skv) softmax_block<K::kTiles, false>(s, px, py, c, col0, p.skv, m, alpha);
        else softmax_block<K::kTiles, true>(s, px, py, c, col0, p.skv, m, alpha);
    };

    bar_wait(q_full, 0);
    // block 0: S, softmax, P
    {
        float ks[K::kGroups];
        key_scales(0, ks);
        bar_wait(k_full(0), 0);
        issue_qk(0);
        wgmma_wait<0>();
        own(s);
        release(k_empty(0));
        softmax(0, ks);
    }
    pack_p(px, py, pa);
    // blocks 1 .. nk-1: S_j and P_{j-1}·V_{j-1} in flight together; softmax of S_j overlaps the P·V product
    for (int j = 1; j < nk; ++j) {
        const int st = j % kStages, pst = (j - 1) % kStages;
        // the block's key scales, loaded before the waits so their latency hides behind them
        float ks[K::kGroups];
        key_scales(j, ks);
        bar_wait(k_full(st), (j / kStages) & 1);
        issue_qk(st);
        bar_wait(v_full(pst), ((j - 1) / kStages) & 1);
        issue_pv(pst);
        wgmma_wait<1>();
        own(s);
        release(k_empty(st));
        softmax(j, ks);
        wgmma_wait<0>();
        own(o);
        own(pa);
        own(rs);
        l[0] = (l[0] + rs[0]) * alpha[0];  // rs: P_{j-1}'s sums, in the frame of m before this block
        l[1] = (l[1] + rs[2]) * alpha[1];
        release(v_empty(pst));
        if (__any_sync(0xffffffffu, alpha[0] != 1.0f || alpha[1] != 1.0f)) {  // a row maximum of the warp moved
#pragma unroll
            for (int i = 0; i < 64; ++i) o[i] *= alpha[(i >> 1) & 1];
        }
        pack_p(px, py, pa);
    }
    {
        const int pst = (nk - 1) % kStages;
        bar_wait(v_full(pst), ((nk - 1) / kStages) & 1);
        issue_pv(pst);
        wgmma_wait<0>();
        own(o);
        own(pa);
        own(rs);
        l[0] += rs[0];
        l[1] += rs[2];
    }

    // out = O · v_scale[d] / l (l sums the e4m3 448 · P, so the factor 448 of P cancels; every thread of a row holds it)
    const float inv0 = 1.0f / l[0], inv1 = 1.0f / l[1];
    const float* vsc = p.vscale + static_cast<int64_t>(bhk) * kBlock;
    __nv_bfloat16* out0 = p.out + b * p.os_b + static_cast<int64_t>(row0) * p.os_s + h * p.os_h;
    __nv_bfloat16* out1 = out0 + 8 * p.os_s;
#pragma unroll
    for (int i = 0; i < 16; ++i) {
        const int d = 8 * i + 2 * tq;
        const float v0 = vsc[d], v1 = vsc[d + 1];
        if (row0 < p.sq)
            *reinterpret_cast<__nv_bfloat162*>(out0 + d) = __floats2bfloat162_rn(o[4 * i] * inv0 * v0, o[4 * i + 1] * inv0 * v1);
        if (row0 + 8 < p.sq)
            *reinterpret_cast<__nv_bfloat162*>(out1 + d) =
                __floats2bfloat162_rn(o[4 * i + 2] * inv1 * v0, o[4 * i + 3] * inv1 * v1);
    }
#else
    __trap();  // not sm_90a code: wgmma_available() keeps plans from choosing this kernel
#endif
}
#endif  // VG_SAGE_WGMMA_HOST

#if VG_SAGE_WGMMA_HOST
using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*,
                                 const cuuint32_t*, const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle,
                                 CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// cuTensorMapEncodeTiled through the runtime's driver entry point (the library does not link libcuda).
EncodeTiled encoder() {
    static const EncodeTiled fn = [] {
        void* f = nullptr;
        cudaDriverEntryPointQueryResult found{};
        if (cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found) != cudaSuccess ||
            found != cudaDriverEntryPointSuccess)
            f = nullptr;
        cudaGetLastError();  // a failed lookup leaves nothing behind for the next launch check
        return reinterpret_cast<EncodeTiled>(f);
    }();
    return fn;
}

// A 2-D map of 8-bit rows (`cols` bytes each, `stride` bytes apart) read as boxes of box_rows rows x box_cols bytes
// (128: the 128-byte swizzle; 64: the 64-byte swizzle). Boxes past the map's edges read zeros.
vg_status encode(CUtensorMap* map, const void* data, uint64_t cols, uint64_t rows, uint64_t stride, uint32_t box_cols = kBlock,
                 uint32_t box_rows = kBlock) {
    const cuuint64_t dims[2] = {cols, rows};
    const cuuint64_t strides[1] = {stride};
    const cuuint32_t box[2] = {box_cols, box_rows};
    const cuuint32_t elem[2] = {1, 1};
    const CUresult r = encoder()(map, CU_TENSOR_MAP_DATA_TYPE_UINT8, 2, const_cast<void*>(data), dims, strides, box, elem,
                                 CU_TENSOR_MAP_INTERLEAVE_NONE, box_cols == 64 ? CU_TENSOR_MAP_SWIZZLE_64B : CU_TENSOR_MAP_SWIZZLE_128B,
                                 CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r != CUDA_SUCCESS)
        return vg::fail(VG_ERROR_INTERNAL, "vg_sage_attention_run: cuTensorMapEncodeTiled failed (CUresult " +
                                               std::to_string(static_cast<int>(r)) + ")");
    return VG_OK;
}

#endif

}  // namespace

bool wgmma_available(int device, std::string* why) {
#if VG_SAGE_WGMMA_HOST
    int major = 0, minor = 0;
    if (!vg::compute_capability(device, &major, &minor)) {
        if (why) *why = "the device's compute capability could not be read";
        return false;
    }
    if (major != 9 || minor != 0) {
        if (why) *why = "the wgmma kernel is sm_90a code (Hopper, compute capability 9.0); this device is " +
                        std::to_string(major) + "." + std::to_string(minor);
        return false;
    }
    if (!encoder()) {
        if (why) *why = "the driver has no cuTensorMapEncodeTiled";
        return false;
    }
    return true;
#else
    (void)device;
    if (why) *why = "this library was built with a CUDA toolkit older than 12.5 (no tensor maps through the runtime)";
    return false;
#endif
}

vg_status wgmma_prepare() {
#if VG_SAGE_WGMMA_HOST
    VG_TRY(vg::cuda_check(cudaFuncSetAttribute(reinterpret_cast<const void*>(&sage_attend_wgmma<128>),
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, Keys<128>::kSmem),
                          "vg_sage_attention_plan_create: cudaFuncSetAttribute (wgmma kernel, 128-key blocks)"));
    return vg::cuda_check(cudaFuncSetAttribute(reinterpret_cast<const void*>(&sage_attend_wgmma<192>),
                                               cudaFuncAttributeMaxDynamicSharedMemorySize, Keys<192>::kSmem),
                          "vg_sage_attention_plan_create: cudaFuncSetAttribute (wgmma kernel, 192-key blocks)");
#else
    return vg::fail(VG_ERROR_NOT_SUPPORTED, "vg_sage_attention_plan_create: no wgmma kernel in this build");
#endif
}

vg_status wgmma_attend(const AttendArgs& a, cudaStream_t stream) {
#if VG_SAGE_WGMMA_HOST
    const int keys = static_cast<int>(a.block_k);
    Params p{};
    const uint64_t v_rows = static_cast<uint64_t>(a.batch * a.kv_heads * kBlock);
    VG_TRY(encode(&p.q_map, a.q8, kBlock, static_cast<uint64_t>(a.batch * a.heads * a.sq_pad), kBlock));
    VG_TRY(encode(&p.k_map, a.k8, kBlock, static_cast<uint64_t>(a.batch * a.kv_heads * a.skv_pad), kBlock, kBlock,
                  static_cast<uint32_t>(keys)));
    VG_TRY(encode(&p.v_map, a.vt8, static_cast<uint64_t>(a.skv_pad), v_rows, static_cast<uint64_t>(a.skv_pad)));
    if (keys == 192) VG_TRY(encode(&p.v_tail_map, a.vt8, static_cast<uint64_t>(a.skv_pad), v_rows, static_cast<uint64_t>(a.skv_pad), 64));
    p.qscale = a.qscale;
    p.kscale = a.kscale;
    p.vscale = a.vscale;
    p.out = static_cast<__nv_bfloat16*>(a.out);
    p.os_b = a.os_b;
    p.os_s = a.os_s;
    p.os_h = a.os_h;
    p.heads = static_cast<int>(a.heads);
    p.kv_heads = static_cast<int>(a.kv_heads);
    p.sq = static_cast<int>(a.sq);
    p.skv = static_cast<int>(a.skv);
    p.sq_pad = static_cast<int>(a.sq_pad);
    p.skv_pad = static_cast<int>(a.skv_pad);
    const dim3 grid(static_cast<unsigned>((a.sq + kBlock - 1) / kBlock), static_cast<unsigned>(a.heads),
                    static_cast<unsigned>(a.batch));
    if (keys == 192) sage_attend_wgmma<192><<<grid, kThreads, Keys<192>::kSmem, stream>>>(p);
    else sage_attend_wgmma<128><<<grid, kThreads, Keys<128>::kSmem, stream>>>(p);
    return vg::launch_check("vg_sage_attention_run (wgmma attend)");
#else
    (void)a;
    (void)stream;
    return vg::fail(VG_ERROR_NOT_SUPPORTED, "vg_sage_attention_run: no wgmma kernel in this build");
#endif
}

}  // namespace vg::sage
