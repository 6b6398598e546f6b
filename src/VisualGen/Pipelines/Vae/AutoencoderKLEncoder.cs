using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Vae;

/// <summary>The AutoencoderKL encoder graph the exporter traces (FLUX.1's AutoencoderKL, FLUX.2's AutoencoderKLFlux2): input
/// <c>image</c> [batch, 3, H, W] in [−1, 1], outputs the latent distribution's <c>latent_mean</c> and <c>latent_logvar</c>.</summary>
public static class AutoencoderKLEncoder
{
    public const string ImageInput = "image", MeanOutput = "latent_mean", LogVarOutput = "latent_logvar";

    /// <summary>The distribution's mean (diffusers' retrieve_latents with sample_mode "argmax").</summary>
    public static HostTensor Mean(IEngine encoder, HostTensor image, CancellationToken ct = default) =>
        encoder.Run(new Dictionary<string, HostTensor> { [ImageInput] = image }, [MeanOutput], ct)[MeanOutput];

    /// <summary>The distribution's mean and log-variance, for pipelines that sample it.</summary>
    public static (HostTensor Mean, HostTensor LogVar) Moments(IEngine encoder, HostTensor image, CancellationToken ct = default)
    {
        var outputs = encoder.Run(new Dictionary<string, HostTensor> { [ImageInput] = image }, [MeanOutput, LogVarOutput], ct);
        return (outputs[MeanOutput], outputs[LogVarOutput]);
    }
}
