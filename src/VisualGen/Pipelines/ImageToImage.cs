using VisualGen.Tensors;

namespace VisualGen.Pipelines;

/// <summary>
/// What diffusers' image-to-image pipelines of flow-matching models share (FluxImg2ImgPipeline, QwenImageImg2ImgPipeline):
/// get_timesteps' start from strength, a sample of the VAE's latent distribution (retrieve_latents' default "sample"), and
/// scheduler.scale_noise before the loop's first step. The family maps the sample to its latents (shift/scale, or the
/// VAE's mean/std normalization) and packs them.
/// </summary>
public static class ImageToImage
{
    public const double DefaultStrength = 0.6;

    /// <summary>get_timesteps' first step of <paramref name="steps"/>: n − min(n·strength, n), truncated.</summary>
    public static int FirstStep(int steps, double strength) => (int)Math.Max(steps - Math.Min(steps * strength, steps), 0);

    /// <summary>For a family whose image makes the run image-to-image: strength in (0, 1] and only with an image.</summary>
    public static void Validate(GenerationRequest r)
    {
        if (r.Strength is not null && r.Image is null)
            throw new GenerationException("strength", "strength applies to image-to-image: give an image (--image) or leave strength out");
        if (r.Strength is double strength && !(strength > 0 && strength <= 1))
            throw new GenerationException("strength", $"strength must be in (0, 1], got {strength}");
    }

    /// <summary>prepare_latents' image latents and noise, before <see cref="ScaleNoise"/> mixes them into the start
    /// (inpainting mixes them again after every step): a sample of the encoder's distribution (ε the first half of one
    /// normal stream of <paramref name="seed"/>) mapped to the family's latents by <paramref name="toLatents"/>, and the
    /// stream's second half as the noise (diffusers draws both from its generator, in that order). In the encoder's
    /// layout, unpacked.</summary>
    public static (HostTensor ImageLatents, HostTensor Noise) Start(HostTensor mean, HostTensor logvar, Func<HostTensor, HostTensor> toLatents, long seed)
    {
        int n = mean.Floats.Length;
        var normal = LatentNoise.Gaussian(2L * n, seed);
        var image = toLatents(Sample(mean, logvar, normal.AsSpan(0, n)));
        return (image, HostTensor.Float32(normal[n..], image.Shape));
    }

    /// <summary>DiagonalGaussianDistribution.sample: mean + exp(½·clamp(logvar, −30, 20))·ε, ε the first values of <paramref name="normal"/>.</summary>
    public static HostTensor Sample(HostTensor mean, HostTensor logvar, ReadOnlySpan<float> normal)
    {
        var m = mean.Floats;
        var lv = logvar.Floats;
        var s = new float[m.Length];
        for (int i = 0; i < s.Length; i++) s[i] = m[i] + MathF.Exp(0.5f * Math.Clamp(lv[i], -30f, 20f)) * normal[i];
        return HostTensor.Float32(s, mean.Shape);
    }

    /// <summary>FlowMatchEulerDiscreteScheduler.scale_noise at the first step's sigma: σ·noise + (1 − σ)·latents, in float32.</summary>
    public static HostTensor ScaleNoise(HostTensor latents, ReadOnlySpan<float> noise, float sigma)
    {
        var x = latents.Floats;
        var y = new float[x.Length];
        for (int i = 0; i < y.Length; i++) y[i] = sigma * noise[i] + (1f - sigma) * x[i];
        return HostTensor.Float32(y, latents.Shape);
    }
}
