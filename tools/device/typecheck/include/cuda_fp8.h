// Declaration-only stand-in for CUDA's <cuda_fp8.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
#include "cuda_runtime.h"
typedef unsigned short __nv_fp8x2_storage_t; typedef unsigned char __nv_fp8_storage_t;
enum __nv_saturation_t { __NV_NOSAT, __NV_SATFINITE }; enum __nv_fp8_interpretation_t { __NV_E4M3, __NV_E5M2 };
__nv_fp8x2_storage_t __nv_cvt_float2_to_fp8x2(float2, __nv_saturation_t, __nv_fp8_interpretation_t);
__nv_fp8_storage_t __nv_cvt_float_to_fp8(float, __nv_saturation_t, __nv_fp8_interpretation_t);
#include "cuda_fp16.h"
__half2_raw __nv_cvt_fp8x2_to_halfraw2(__nv_fp8x2_storage_t, __nv_fp8_interpretation_t);
__half_raw __nv_cvt_fp8_to_halfraw(__nv_fp8_storage_t, __nv_fp8_interpretation_t);
