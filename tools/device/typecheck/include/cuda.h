// Declaration-only stand-in for CUDA's <cuda.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
#include "cuda_runtime.h"
#define CUDA_VERSION 13000
typedef uint64_t cuuint64_t; typedef uint32_t cuuint32_t;
typedef int CUresult; enum { CUDA_SUCCESS = 0 };
struct CUtensorMap { alignas(64) unsigned long long opaque[16]; };
typedef int CUtensorMapDataType; enum { CU_TENSOR_MAP_DATA_TYPE_UINT8 };
typedef int CUtensorMapInterleave; enum { CU_TENSOR_MAP_INTERLEAVE_NONE };
typedef int CUtensorMapSwizzle; enum { CU_TENSOR_MAP_SWIZZLE_64B, CU_TENSOR_MAP_SWIZZLE_128B };
typedef int CUtensorMapL2promotion; enum { CU_TENSOR_MAP_L2_PROMOTION_L2_256B };
typedef int CUtensorMapFloatOOBfill; enum { CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE };
