// max|x| of a whole tensor on the device, for the dynamic per-tensor quantizers (FP8 attention tensors, FP8 and NVFP4
// activations): reset_amax zeroes the slot, tensor_amax folds 8 values per thread step into it. Launch both on the quantizer's stream.
#pragma once

#include "vec.cuh"

namespace vg {

__global__ void reset_amax(float* slot);

// *slot = max(*slot, max|x|) over `vecs` groups of 8 values (atomicMax on the bits: non-negative floats order like
// their bits). A NaN is skipped, or with kNanWins it wins (the quiet NaN's bits order above every finite value) and
// propagates to the scale.
template <bool kNanWins = false, typename T>
__global__ void tensor_amax(const T* x, int64_t vecs, float* slot) {
    float m = 0.0f;
    bool nan = false;
    for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < vecs;
         i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
        float v[8];
        load8(x + i * 8, v);
#pragma unroll
        for (int k = 0; k < 8; ++k) {
            m = fmaxf(m, fabsf(v[k]));
            if (kNanWins) nan |= v[k] != v[k];
        }
    }
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
    if (kNanWins) nan = __any_sync(0xffffffffu, nan);
    if ((threadIdx.x & 31) == 0) atomicMax(reinterpret_cast<unsigned int*>(slot), nan ? 0x7fc00000u : __float_as_uint(m));
}

}  // namespace vg
