using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Pipelines.Flux2;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>
/// AutoencoderKLFlux2 (diffusers' autoencoder_kl_flux2.py): AutoencoderKL's encoder, decoder and quant convs, traced
/// as <see cref="AutoencoderKL"/>'s two graphs (decoder: raw latents → sample; encoder: image → latent mean). Its
/// latent batch-norm statistics (<c>bn.running_mean</c>, <c>bn.running_var</c>) and the 2×2 patchify are applied by
/// Flux2Pipeline on the host, so the graphs take and give latents before them, as diffusers' decode/encode do.
/// </summary>
public static class AutoencoderKLFlux2
{
    public const string ClassName = "AutoencoderKLFlux2";

    public static Graph.Graph TraceDecoder(string componentDir, ITensorSource weights)
    {
        AutoencoderKLFlux2Config.Read(componentDir);
        return AutoencoderKL.TraceDecoder(componentDir, weights, ClassName, "bn.");
    }

    public static Graph.Graph TraceEncoder(string componentDir, ITensorSource weights)
    {
        AutoencoderKLFlux2Config.Read(componentDir);
        return AutoencoderKL.TraceEncoder(componentDir, weights, ClassName, "bn.");
    }
}
