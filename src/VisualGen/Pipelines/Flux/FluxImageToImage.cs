using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxImg2ImgPipeline where it differs from FluxPipeline (a FLUX.1 checkpoint given an image):
/// <list type="bullet">
/// <item>the image resized to the requested size (VaeImageProcessor.preprocess: LANCZOS, in float here) in [−1, 1];</item>
/// <item>_encode_vae_image: a sample of the VAE's latent distribution (mean + exp(½·clamp(logvar, −30, 20))·ε), then
///   (x − shift_factor)·scaling_factor;</item>
/// <item>get_timesteps: of n steps the last ⌊n·strength⌋ run (t_start = n − that), the scheduler begins at t_start;</item>
/// <item>prepare_latents: scale_noise, σ·noise + (1 − σ)·image latents with σ = sigmas[t_start] (float32), packed;
///   explicit latents are taken as they are (the noised start), as diffusers does.</item>
/// </list>
/// ε and the noise come from one stream of the request's seed, in that order (diffusers draws both from its generator:
/// the same seed gives the same image here on every machine, not PyTorch's).
/// </summary>
public static class FluxImageToImage
{
    /// <summary>FluxImg2ImgPipeline's default guidance_scale (FluxPipeline's is 3.5).</summary>
    public const double DefaultGuidanceScale = 7.0;

    /// <summary>The image as the VAE encoder takes it: [1, 3, height, width] in [−1, 1].</summary>
    public static HostTensor Preprocess(HostTensor image, int height, int width)
    {
        VaeInput.Check(image);
        return VaeInput.FromImage(SeparableResize.Lanczos(image, height, width));
    }

    /// <summary>The noised start, packed [1, tokens, 4C]: scale_noise of <see cref="ImageLatentsAndNoise"/> at <paramref name="sigma"/>.</summary>
    public static HostTensor NoisedLatents(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor image, int height, int width, float sigma, long seed, CancellationToken ct = default)
    {
        var (imageLatents, noise) = ImageLatentsAndNoise(vaeEncoder, vae, image, height, width, seed, ct);
        return ImageToImage.ScaleNoise(imageLatents, noise.Floats, sigma);
    }

    /// <summary>The image's latents (<see cref="Preprocess"/>, a sample of the VAE's distribution, shifted and scaled) and
    /// the noise, each packed [1, tokens, 4C] (<see cref="ImageToImage.Start"/>).</summary>
    public static (HostTensor ImageLatents, HostTensor Noise) ImageLatentsAndNoise(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor image,
        int height, int width, long seed, CancellationToken ct = default)
    {
        var (mean, logvar) = AutoencoderKLEncoder.Moments(vaeEncoder, Preprocess(image, height, width), ct);
        var (imageLatents, noise) = ImageToImage.Start(mean, logvar, vae.ToLatents, seed);
        return (LatentPacking.Pack(imageLatents), LatentPacking.Pack(noise));
    }
}
