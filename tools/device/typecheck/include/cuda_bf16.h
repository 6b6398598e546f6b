// Declaration-only stand-in for CUDA's <cuda_bf16.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
#include "cuda_runtime.h"
struct __nv_bfloat16 { unsigned short x; }; struct __nv_bfloat162 { __nv_bfloat16 x, y; };
__nv_bfloat162 __floats2bfloat162_rn(float, float); float __bfloat162float(__nv_bfloat16); __nv_bfloat16 __float2bfloat16_rn(float);
float2 __bfloat1622float2(__nv_bfloat162);
