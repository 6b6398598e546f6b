// Declaration-only stand-in for CUDA's <cuda_fp16.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
#include "cuda_runtime.h"
struct __half_raw { unsigned short x; }; struct __half2_raw { unsigned short x, y; };
struct __half { unsigned short x; __half() = default; __half(__half_raw r) : x(r.x) {} };
struct __half2 { __half x, y; __half2() = default; __half2(__half2_raw r) : x(__half_raw{r.x}), y(__half_raw{r.y}) {} };
float2 __half22float2(__half2); float __half2float(__half);
