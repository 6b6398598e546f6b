using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxInpaintPipeline where it differs from FluxImg2ImgPipeline (<see cref="FluxImageToImage"/>): a FLUX.1
/// checkpoint given an image and a mask_image runs the loop of <see cref="Inpainting"/>, on the image's latents and noise
/// (from the request's seed, as image-to-image draws them) and the mask on the latent grid, all packed. The masked image
/// latents diffusers also encodes feed only the 384-channel FLUX.1 Fill transformer, not this one, and are not computed.
/// </summary>
public static class FluxInpaint
{
    public static Inpainting Prepare(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor image, HostTensor mask, int height, int width,
        int latentChannels, int vaeScaleFactor, long seed, HostTensor? givenLatents, CancellationToken ct = default)
    {
        var (imageLatents, noise) = FluxImageToImage.ImageLatentsAndNoise(vaeEncoder, vae, image, height, width, seed, ct);
        int gridH = FluxLatents.LatentSize(height, vaeScaleFactor), gridW = FluxLatents.LatentSize(width, vaeScaleFactor);
        return new Inpainting(imageLatents, noise,
            LatentPacking.Pack(InpaintMask.OnLatentGrid(mask, height, width, gridH, gridW, latentChannels)), givenLatents);
    }
}
