// Declaration-only stand-in for CUDA's <cuda_runtime.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
#include <cstdint>
#include <cstddef>
#include <cmath>
#define __device__
#define __host__
#define __global__
#define __forceinline__ inline
#define __shared__
#define __grid_constant__
#define __launch_bounds__(...)
#define __CUDACC__ 1
typedef int cudaError_t; enum { cudaSuccess = 0 };
typedef struct CUstream_st* cudaStream_t;
struct dim3 { unsigned x, y, z; dim3(unsigned a=1, unsigned b=1, unsigned c=1) : x(a), y(b), z(c) {} };
struct uint3_ { unsigned x, y, z; };
extern uint3_ threadIdx, blockIdx, blockDim, gridDim;
enum cudaFuncAttribute { cudaFuncAttributeMaxDynamicSharedMemorySize };
cudaError_t cudaFuncSetAttribute(const void*, cudaFuncAttribute, int);
enum cudaDriverEntryPointQueryResult { cudaDriverEntryPointSuccess };
enum { cudaEnableDefault = 0 };
cudaError_t cudaGetDriverEntryPointByVersion(const char*, void**, unsigned, unsigned long long, cudaDriverEntryPointQueryResult*);
cudaError_t cudaGetLastError();
cudaError_t cudaGetDevice(int*);
struct uint2 { unsigned x, y; }; struct uint4 { unsigned x, y, z, w; }; struct float2 { float x, y; }; struct float4 { float x, y, z, w; };
inline uint2 make_uint2(unsigned a, unsigned b) { return {a, b}; }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
inline float2 make_float2(float a, float b) { return {a, b}; }
template <typename T> T __shfl_xor_sync(unsigned, T, int, int width = 32);
template <typename T> T __shfl_down_sync(unsigned, T, unsigned, int width = 32);
template <typename T> T __shfl_sync(unsigned, T, int, int width = 32);
void __syncwarp(unsigned m = 0xffffffffu); int __any_sync(unsigned, int); void __syncthreads(); void __trap();
float __int_as_float(int); int __float_as_int(float); unsigned __float_as_uint(float); float __uint_as_float(unsigned);
unsigned __byte_perm(unsigned, unsigned, unsigned); int __vimax3_s32(int, int, int);
float __fmul_rn(float, float); float __fadd_rn(float, float); int __float2int_rn(float);
size_t __cvta_generic_to_shared(const void*);
using std::max; using std::min;
inline int max(int a, int b) { return a > b ? a : b; } inline int min(int a, int b) { return a < b ? a : b; }
float rsqrtf(float); float __expf(float);
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
#define __align__(n) __attribute__((aligned(n)))
enum cudaDeviceAttr { cudaDevAttrComputeCapabilityMajor, cudaDevAttrComputeCapabilityMinor, cudaDevAttrMultiProcessorCount };
cudaError_t cudaDeviceGetAttribute(int*, cudaDeviceAttr, int);
cudaError_t cudaMemsetAsync(void*, int, size_t, cudaStream_t);
float __fdiv_rn(float, float);
int atomicMax(int*, int); unsigned atomicMax(unsigned*, unsigned); float atomicAdd(float*, float); int atomicAdd(int*, int);
unsigned atomicAdd(unsigned*, unsigned); unsigned long long atomicAdd(unsigned long long*, unsigned long long);
double atomicAdd(double*, double);
#define __constant__
