using VisualGen.Pipelines;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Qwen-Image's true classifier-free guidance (two transformer calls, one per prompt) with norm rescaling, as
/// QwenImagePipeline computes it: comb = neg + scale·(cond − neg), then each token's prediction is rescaled so its
/// L2 norm over the channels equals the conditional prediction's: comb · (‖cond‖ / ‖comb‖). float32 like torch, the
/// norms accumulated in float64. The host reference of what the denoising loop does with ITensorArithmetic.Combine and
/// RescaleRowNorms.
/// </summary>
static class TrueCfg
{
    /// <param name="channels">the last axis (the norm runs over it); the arrays are [tokens, channels] flattened.</param>
    public static float[] Combine(float[] cond, float[] neg, float scale, int channels)
    {
        if (cond.Length != neg.Length) throw new ArgumentException($"conditional ({cond.Length}) and negative ({neg.Length}) predictions differ in size");
        if (channels <= 0 || cond.Length % channels != 0) throw new ArgumentException($"{cond.Length} values are not whole tokens of {channels} channels", nameof(channels));
        var result = Guidance.Combine(cond, neg, scale);
        VisualGen.Engines.HostArithmetic.RescaleRowNorms(result, result, cond, channels);
        return result;
    }
}
