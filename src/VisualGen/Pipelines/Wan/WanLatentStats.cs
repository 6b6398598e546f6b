using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>
/// The Wan VAE's per-channel latent statistics (config latents_mean / latents_std), with diffusers' arithmetic:
/// the pipelines keep inv = 1 / std and compute latents / inv + mean (before decoding) and
/// (latents − mean) · inv (after encoding a condition).
/// </summary>
public sealed class WanLatentStats
{
    readonly float[] _mean, _invStd;

    public WanLatentStats(IReadOnlyList<float> mean, IReadOnlyList<float> std)
    {
        if (mean.Count != std.Count || mean.Count == 0)
            throw new ArgumentException($"latents_mean has {mean.Count} and latents_std {std.Count} entries; they must match and not be empty");
        _mean = [.. mean];
        _invStd = std.Select(s => s != 0 ? 1f / s : throw new ArgumentException("latents_std has a zero entry")).ToArray();
    }

    public WanLatentStats(WanVaeConfig config) : this(config.LatentsMean, config.LatentsStd) { }

    public int Channels => _mean.Length;

    /// <summary>Normalized (denoising space) → raw VAE latents: x / (1/std) + mean.</summary>
    public HostTensor Denormalize(HostTensor latents) => Map(latents, (x, c) => x / _invStd[c] + _mean[c]);

    /// <summary>Raw VAE latents (an encode mean) → normalized: (x − mean) · (1/std).</summary>
    public HostTensor Normalize(HostTensor latents) => Map(latents, (x, c) => (x - _mean[c]) * _invStd[c]);

    HostTensor Map(HostTensor t, Func<float, int, float> f)
    {
        VideoFrames.CheckVideo(t, nameof(t));
        if (t.Shape[1] != Channels) throw new ArgumentException($"latents {t.ShapeText} have {t.Shape[1]} channels; the VAE has {Channels}", nameof(t));
        long plane = t.Shape[2] * t.Shape[3] * t.Shape[4];
        var src = t.Floats;
        var dst = new float[src.Length];
        for (long i = 0; i < src.LongLength; i++) dst[i] = f(src[i], (int)(i / plane % Channels));
        return HostTensor.Float32(dst, t.Shape);
    }
}
