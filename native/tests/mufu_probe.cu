// Exponential throughput on this GPU: results per clock per SM for ex2.approx.ftz.f32, ex2.approx.f16x2 and
// ex2.approx.ftz.bf16x2 (two results per instruction), each thread running 8 independent chains. Tells whether a
// packed exponential halves the MUFU work of attention's softmax (cuobjdump -sass shows the instructions).
//   nvcc -O3 -arch=sm_90a -o mufu_probe mufu_probe.cu && ./mufu_probe
#include <cstdio>
#include <cuda_runtime.h>

template <int Kind>
__device__ __forceinline__ unsigned ex2(unsigned x) {
    unsigned y;
    if constexpr (Kind == 0) asm volatile("ex2.approx.ftz.f32 %0, %1;" : "=r"(y) : "r"(x));
    if constexpr (Kind == 1) asm volatile("ex2.approx.f16x2 %0, %1;" : "=r"(y) : "r"(x));
    if constexpr (Kind == 2) asm volatile("ex2.approx.ftz.bf16x2 %0, %1;" : "=r"(y) : "r"(x));
    return y;
}

template <int Kind>
__global__ void chains(unsigned* out, unsigned seed, int iters) {
    unsigned v[8];
    for (int i = 0; i < 8; ++i) v[i] = seed ^ (threadIdx.x * 8 + i);
    for (int it = 0; it < iters; ++it)
#pragma unroll
        for (int i = 0; i < 8; ++i) v[i] = ex2<Kind>(v[i]) ^ 0x3c003c00u;  // keeps the argument in range, one LOP each
    unsigned s = 0;
    for (int i = 0; i < 8; ++i) s ^= v[i];
    if (s == 0x12345678u) out[0] = s;
}

template <int Kind>
void run(const char* name, int results_per_instr) {
    int dev = 0, sms = 0, khz = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev);
    cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, dev);
    unsigned* out;
    cudaMalloc(&out, 4);
    const int blocks = sms * 8, threads = 256, iters = 4096;
    chains<Kind><<<blocks, threads>>>(out, 1u, 16);
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a);
    chains<Kind><<<blocks, threads>>>(out, 1u, iters);
    cudaEventRecord(b);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    double instrs = double(blocks) * threads * iters * 8;
    double per_clk_sm = instrs / (ms * 1e-3) / (khz * 1e3) / sms;
    printf("%-26s %8.3f ms  %6.2f instr/clk/SM  %6.2f results/clk/SM (at the %d MHz max clock)  %s\n", name, ms, per_clk_sm,
           per_clk_sm * results_per_instr, khz / 1000, cudaGetErrorString(cudaGetLastError()));
    cudaFree(out);
}

int main() {
    run<0>("ex2.approx.ftz.f32", 1);
    run<1>("ex2.approx.f16x2", 2);
    run<2>("ex2.approx.ftz.bf16x2", 2);
    return 0;
}
