using VisualGen.Checkpoints;

namespace VisualGen.Quantization;

/// <summary>
/// The dequantization scale of FP8 weights (per tensor and per 128×128 block): s = max(amax/448, 1/(448·512)) in
/// float32, then rounded to the weight's dtype (a bf16 weight gets a bf16 scale, as ModelOpt computes it in the
/// weight's dtype). The floor keeps an all-zero tensor or block from dividing by zero.
/// </summary>
public static class Fp8WeightScale
{
    /// <summary>1/(448·512): the smallest scale.</summary>
    public const float Floor = 1f / (E4M3.Max * 512f);

    public static float For(float amax, SourceTensor weight) => For(amax, weight.DType);

    /// <summary>The same for a weight stored as <paramref name="dtype"/>.</summary>
    public static float For(float amax, TensorDType dtype) => SourceTensor.RoundToDType(dtype, MathF.Max(amax / E4M3.Max, Floor));
}
