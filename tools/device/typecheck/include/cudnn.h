// Declaration-only stand-in for CUDA's <cudnn.h> (tools/device/typecheck/check.sh): what g++ -fsyntax-only needs to
// type-check native/src where no CUDA toolkit is installed. Not the real header: nothing here is built or run.
#pragma once
typedef struct cudnnContext* cudnnHandle_t; typedef int cudnnStatus_t;
