// Declaration-only stand-in for CUDA's <cublasLt.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
typedef struct cublasLtContext* cublasLtHandle_t; typedef struct d1* cublasLtMatmulDesc_t; typedef struct d2* cublasLtMatrixLayout_t;
typedef struct d3* cublasLtMatmulPreference_t; struct cublasLtMatmulAlgo_t { unsigned long long data[8]; }; typedef int cublasStatus_t;
int cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t); int cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t); int cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t);
