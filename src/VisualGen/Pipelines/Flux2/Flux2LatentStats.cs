using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux2;

/// <summary>
/// AutoencoderKLFlux2's latent batch-norm statistics (<c>bn.running_mean</c>, <c>bn.running_var</c> of the VAE's
/// weights, one per patchified channel): the pipeline's latents are (patchified VAE latents − mean) / std with
/// std = sqrt(running_var + batch_norm_eps), computed in float32 as diffusers does.
/// </summary>
public sealed class Flux2LatentStats
{
    public float[] Mean { get; }
    public float[] Std { get; }

    public Flux2LatentStats(float[] mean, float[] runningVar, float eps)
    {
        if (mean.Length != runningVar.Length)
            throw new ArgumentException($"batch-norm running_mean has {mean.Length} values, running_var {runningVar.Length}");
        Mean = mean;
        Std = runningVar.Select(v => MathF.Sqrt(v + eps)).ToArray();
    }

    /// <summary>Reads the statistics from the VAE component folder's weights and checks them against the config.</summary>
    public static Flux2LatentStats Load(string vaeDirectory, AutoencoderKLFlux2Config config)
    {
        using var weights = ComponentWeights.Open(vaeDirectory);
        float[] Read(string name)
        {
            if (!weights.Contains(name)) throw new CheckpointException(vaeDirectory, $"missing weight '{name}' (AutoencoderKLFlux2's latent batch-norm)");
            var values = weights.ReadFloat32(name);
            if (values.Length != config.PatchedChannels)
                throw new CheckpointException(vaeDirectory, $"weight '{name}' has {values.Length} values; latent_channels × patch size gives {config.PatchedChannels}");
            return values;
        }
        return new Flux2LatentStats(Read("bn.running_mean"), Read("bn.running_var"), config.BatchNormEps);
    }

    /// <summary>x · std + mean over the channel (last) axis of packed latents [batch, tokens, channels].</summary>
    public HostTensor Denormalize(HostTensor packed)
    {
        var (src, dst, c) = Channels(packed);
        for (int i = 0; i < src.Length; i++) dst[i] = src[i] * Std[i % c] + Mean[i % c];
        return HostTensor.Float32(dst, packed.Shape);
    }

    /// <summary>(x − mean) / std over the channel (last) axis of packed latents [batch, tokens, channels] (an encoded image).</summary>
    public HostTensor Normalize(HostTensor packed)
    {
        var (src, dst, c) = Channels(packed);
        for (int i = 0; i < src.Length; i++) dst[i] = (src[i] - Mean[i % c]) / Std[i % c];
        return HostTensor.Float32(dst, packed.Shape);
    }

    (float[] Source, float[] Destination, int Channels) Channels(HostTensor packed)
    {
        int c = Mean.Length;
        if (packed.Rank != 3 || packed.Shape[2] != c)
            throw new ArgumentException($"packed latents {packed.ShapeText} do not have the batch-norm's {c} channels", nameof(packed));
        return (packed.Floats, new float[packed.Floats.Length], c);
    }
}
