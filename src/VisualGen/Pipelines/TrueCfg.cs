namespace VisualGen.Pipelines;

/// <summary>
/// Qwen-Image's true classifier-free guidance (two transformer calls, one per prompt) with norm rescaling, as
/// QwenImagePipeline computes it: comb = neg + scale·(cond − neg), then each token's prediction is rescaled so its
/// L2 norm over the channels equals the conditional prediction's: comb · (‖cond‖ / ‖comb‖). float32 like torch, the
/// norms accumulated in float64.
/// </summary>
public static class TrueCfg
{
    /// <param name="channels">the last axis (the norm runs over it); the spans are [tokens, channels] flattened.</param>
    public static float[] Combine(ReadOnlySpan<float> cond, ReadOnlySpan<float> neg, float scale, int channels)
    {
        if (cond.Length != neg.Length) throw new ArgumentException($"conditional ({cond.Length}) and negative ({neg.Length}) predictions differ in size");
        if (channels <= 0 || cond.Length % channels != 0) throw new ArgumentException($"{cond.Length} values are not whole tokens of {channels} channels", nameof(channels));
        var result = Guidance.Combine(cond, neg, scale);
        for (int start = 0; start < result.Length; start += channels)
        {
            float condNorm = Norm(cond.Slice(start, channels)), combNorm = Norm(result.AsSpan(start, channels));
            float ratio = condNorm / combNorm;
            for (int i = start; i < start + channels; i++) result[i] *= ratio;
        }
        return result;
    }

    static float Norm(ReadOnlySpan<float> x)
    {
        double s = 0;
        foreach (var v in x) s += (double)v * v;
        return (float)Math.Sqrt(s);
    }
}
