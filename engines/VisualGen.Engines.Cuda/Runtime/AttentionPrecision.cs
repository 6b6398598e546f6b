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
}
