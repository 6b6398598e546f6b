using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxInpaintPipeline where it differs from FluxImg2ImgPipeline (<see cref="FluxImageToImage"/>): a FLUX.1
/// checkpoint given an image and a mask_image (<see cref="InpaintMask"/>). prepare_latents keeps the image latents and
/// the noise apart; after every step the region the mask keeps is set back to the image latents noised to the next
/// step's sigma (the image latents themselves after the last step), so only the masked region is generated. Explicit
/// latents are the noise and the start, unscaled, as diffusers takes them. The masked image latents diffusers also
/// encodes feed only the 384-channel FLUX.1 Fill transformer, not this one, and are not computed.
/// </summary>
public sealed class FluxInpaint
{
    readonly float[] _image, _noise, _mask;
    readonly bool _given;

    FluxInpaint(float[] image, float[] noise, float[] mask, bool given) => (_image, _noise, _mask, _given) = (image, noise, mask, given);

    /// <summary>The image's latents and noise (from the request's seed, as image-to-image draws them) and the mask,
    /// all packed [1, tokens, 4C].</summary>
    public static FluxInpaint Prepare(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor image, HostTensor mask, int height, int width,
        int latentChannels, int vaeScaleFactor, long seed, HostTensor? givenLatents)
    {
        var (mean, logvar) = AutoencoderKLEncoder.Moments(vaeEncoder, FluxImageToImage.Preprocess(image, height, width));
        var (imageLatents, noise) = ImageToImage.Start(mean, logvar, vae.ToLatents, seed);
        int gridH = FluxLatents.LatentSize(height, vaeScaleFactor), gridW = FluxLatents.LatentSize(width, vaeScaleFactor);
        var packedMask = LatentPacking.Pack(InpaintMask.OnLatentGrid(mask, height, width, gridH, gridW, latentChannels));
        return new(LatentPacking.Pack(imageLatents).Floats, givenLatents?.Floats ?? LatentPacking.Pack(noise).Floats, packedMask.Floats, givenLatents is not null);
    }

    /// <summary>The packed mask: 1 where the image is repainted.</summary>
    public ReadOnlySpan<float> Mask => _mask;

    /// <summary>The loop's start: scale_noise of the image latents at <paramref name="sigma"/>, or the explicit latents.</summary>
    public float[] Start(float sigma) => _given ? (float[])_noise.Clone() : ImageToImage.ScaleNoise(HostTensor.Float32(_image, _image.Length), _noise, sigma).Floats;

    /// <summary>After step <paramref name="step"/> of <paramref name="sigmas"/> (the schedule's, its final 0 included):
    /// the kept region back to the image latents at the next sigma (float32 scale_noise), or to the image latents after the last step.</summary>
    public void KeepUnmasked(int step, IReadOnlyList<double> sigmas, Span<float> latents)
    {
        bool last = step == sigmas.Count - 2;
        var proper = last ? _image : ImageToImage.ScaleNoise(HostTensor.Float32(_image, _image.Length), _noise, (float)sigmas[step + 1]).Floats;
        InpaintMask.Blend(latents, _mask, proper);
    }
}
