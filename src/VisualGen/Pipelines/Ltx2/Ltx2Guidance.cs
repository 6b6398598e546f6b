namespace VisualGen.Pipelines.Ltx2;

/// <summary>One stream's (video or audio) guidance scales as LTX2Pipeline applies them.</summary>
public sealed record Ltx2GuidanceScales(double Cfg, double Stg, double Modality, double Rescale)
{
    /// <summary>do_classifier_free_guidance counts either stream: the batched call then carries the negative prompt.</summary>
    public bool UsesCfg => Cfg > 1.0;
    public bool UsesStg => Stg > 0.0;
    public bool UsesModality => Modality > 1.0;
}

/// <summary>
/// LTX2Pipeline's guidance, in x0 space: each prediction (velocity v) becomes x0 = sample − v·σ; the guided x0 is
/// cond + (cfg − 1)(cond − uncond) + stg·(cond − perturbed) + (modality − 1)(cond − isolated), each term present only
/// where its call was made; with guidance_rescale φ > 0 it is mixed with its std-matched version
/// (φ·g·std(cond)/std(g) + (1 − φ)·g, std over the whole sample, unbiased); the result goes back to a velocity
/// (sample − x0) / σ for the scheduler. Arithmetic in float32, in diffusers' order.
/// </summary>
public static class Ltx2Guidance
{
    /// <summary>convert_velocity_to_x0: sample − v·σ.</summary>
    public static float[] VelocityToX0(ReadOnlySpan<float> sample, ReadOnlySpan<float> velocity, float sigma)
    {
        var x0 = new float[sample.Length];
        for (int i = 0; i < x0.Length; i++) x0[i] = sample[i] - velocity[i] * sigma;
        return x0;
    }

    /// <summary>convert_x0_to_velocity: (sample − x0) / σ.</summary>
    public static float[] X0ToVelocity(ReadOnlySpan<float> sample, ReadOnlySpan<float> x0, float sigma)
    {
        var v = new float[sample.Length];
        for (int i = 0; i < v.Length; i++) v[i] = (sample[i] - x0[i]) / sigma;
        return v;
    }

    /// <summary>The guided x0 of one stream from its x0 predictions (null where the call was not made), rescaled.</summary>
    public static float[] Combine(float[] cond, float[]? uncondText, float[]? perturbed, float[]? isolated, Ltx2GuidanceScales s)
    {
        float cfg = (float)(s.Cfg - 1), stg = (float)s.Stg, modality = (float)(s.Modality - 1);
        var g = new float[cond.Length];
        for (int i = 0; i < g.Length; i++)
        {
            float c = cond[i];
            float cfgDelta = uncondText is null ? 0f : cfg * (c - uncondText[i]);
            float stgDelta = perturbed is null ? 0f : stg * (c - perturbed[i]);
            float modalityDelta = isolated is null ? 0f : modality * (c - isolated[i]);
            g[i] = c + cfgDelta + stgDelta + modalityDelta;
        }
        return s.Rescale > 0 ? Rescale(g, cond, s.Rescale) : g;
    }

    /// <summary>rescale_noise_cfg for one sample: φ·g·(std(cond)/std(g)) + (1 − φ)·g.</summary>
    public static float[] Rescale(float[] guided, float[] cond, double phi)
    {
        float ratio = (float)(Std(cond) / Std(guided));
        float p = (float)phi, q = (float)(1 - phi);
        var r = new float[guided.Length];
        for (int i = 0; i < r.Length; i++) r[i] = p * (guided[i] * ratio) + q * guided[i];
        return r;
    }

    /// <summary>Unbiased standard deviation (torch.std's default correction of 1).</summary>
    public static double Std(ReadOnlySpan<float> x)
    {
        double mean = 0;
        foreach (var v in x) mean += v;
        mean /= x.Length;
        double ss = 0;
        foreach (var v in x) ss += (v - mean) * (v - mean);
        return Math.Sqrt(ss / (x.Length - 1));
    }
}
