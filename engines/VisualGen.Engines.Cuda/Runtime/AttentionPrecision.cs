namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>How the engine runs self-attention.</summary>
public enum AttentionPrecision
{
    /// <summary>bf16 q/k/v and output, fp32 softmax and accumulation (cuDNN's fused flash attention). The default.</summary>
    Bf16,
    /// <summary>Self-attention (query and key/value of the same length, head_dim a multiple of 16 up to 128) in FP8 E4M3:
    /// q, k and v are quantized per tensor with a scale computed on the device, cuDNN's FP8 flash attention runs with
    /// fp32 accumulation, and its FP8 output is dequantized to bf16. About 1.4x faster attention at Wan 480p on H100,
    /// at a relative error of a few percent per attention (tools/bench/RESULTS.md). Cross-attention stays bf16: its
    /// short key/value sequences do not pay for the quantization.</summary>
    Fp8,
    /// <summary>Self-attention (query and key/value of the same length, head_dim 64 or 128) Sage-style, after
    /// SageAttention2: K smoothed by its mean over the sequence, Q and K quantized to INT8 with one scale per 16 query /
    /// 64 key tokens per head (<see cref="CudaBackend.SageBlocks"/> sets other counts), V to FP8 E4M3 with one scale per channel, Q·Kᵀ on INT8 tensor cores, the softmax in fp32,
    /// P (quantized to E4M3 with the fixed factor 448) · V on FP8 tensor cores with fp32 accumulation, bf16 output; the
    /// quantization is a pre-pass of each attention, on the device. Kernels of this library (wgmma with TMA on Hopper at
    /// head_dim 128, key blocks of 192, or 128 for short key sequences such as 512 text tokens; mma.sync elsewhere from compute capability 9.0), not cuDNN's: its accuracy and speed against <see cref="Bf16"/> and <see cref="Fp8"/> are what
    /// <c>tools/device/run.sh sage</c> measures (cosine against fp32 SDPA and against the bf16 output). Other
    /// attentions (cross-attention, other head sizes) stay bf16, as with <see cref="Fp8"/>.</summary>
    Sage,
}
