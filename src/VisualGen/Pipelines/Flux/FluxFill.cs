using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxFillPipeline (FLUX.1 Fill: inpainting and outpainting with a transformer trained on the mask) where
/// it differs from image-to-image (<see cref="FluxImageToImage"/>: its start is the same, at strength 1 by default):
/// <list type="bullet">
/// <item>the mask: <see cref="InpaintMask"/>'s binarized mask at the output size; the masked image is the preprocessed
///   image times (1 − mask), encoded (a sample of the VAE's distribution, shifted and scaled) and packed;</item>
/// <item>prepare_mask_latents: the full-resolution mask viewed as [h, 8, w, 8], permuted to [8, 8, h, w], so each latent
///   pixel carries its 8×8 mask pixels as 64 channels, packed like the latents (256 per token);</item>
/// <item>every step the transformer reads, per token, the latents, then the masked image's latents, then the mask
///   (torch.cat(..., dim=2)), and predicts the latents' channels only.</item>
/// </list>
/// The masked image's ε is the third part of the request seed's stream, after the image's ε and the noise (diffusers
/// draws it from its generator after them). guidance_scale defaults to 30, strength to 1, and there is no true CFG.
/// </summary>
public static class FluxFill
{
    public const string ClassName = "FluxFillPipeline";
    public const double DefaultGuidanceScale = 30.0;
    public const double DefaultStrength = 1.0;

    /// <summary>The per-token condition [tokens, latent + mask channels]: the masked image's packed latents, then the packed mask.</summary>
    public static HostTensor Condition(IEngine vaeEncoder, AutoencoderKLConfig vae, HostTensor image, HostTensor mask, int height, int width, long seed, CancellationToken ct = default)
    {
        int vsf = vae.ScaleFactor;
        int h = FluxLatents.LatentSize(height, vsf), w = FluxLatents.LatentSize(width, vsf);
        var binary = InpaintMask.Binarize(mask, height, width);
        // masked_image = init_image · (1 − mask), init_image the VAE input in [−1, 1]
        var masked = FluxImageToImage.Preprocess(image, height, width);
        var m = masked.Floats;
        long plane = (long)height * width;
        for (int c = 0; c < 3; c++)
            for (long p = 0; p < plane; p++) m[c * plane + p] *= 1f - binary[p];
        var (mean, logvar) = AutoencoderKLEncoder.Moments(vaeEncoder, masked, ct);
        int n = mean.Floats.Length;
        var normal = LatentNoise.Gaussian(3L * n, seed);
        var latents = LatentPacking.Pack(vae.ToLatents(ImageToImage.Sample(mean, logvar, normal.AsSpan(2 * n, n))));

        // mask[:, 0].view(h, 8, w, 8).permute(8, 8, h, w): channel (i·8 + j) of latent pixel (y, x) is mask pixel (8y + i, 8x + j)
        var grid = new float[vsf * vsf * h * w];
        for (int i = 0; i < vsf; i++)
            for (int j = 0; j < vsf; j++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        grid[((i * vsf + j) * h + y) * w + x] = binary[(long)(vsf * y + i) * width + vsf * x + j];
        var packedMask = LatentPacking.Pack(HostTensor.Float32(grid, 1, vsf * vsf, h, w));
        return ConcatChannels(latents, packedMask);
    }

    /// <summary>Per token, the channels of <paramref name="a"/> then those of <paramref name="b"/>: [1, tokens, ca + cb].</summary>
    public static HostTensor ConcatChannels(HostTensor a, HostTensor b)
    {
        long tokens = a.Shape[1];
        int ca = (int)a.Shape[2], cb = (int)b.Shape[2];
        if (b.Shape[1] != tokens) throw new ArgumentException($"{a.ShapeText} and {b.ShapeText} have different token counts");
        var o = new float[tokens * (ca + cb)];
        for (long t = 0; t < tokens; t++)
        {
            Array.Copy(a.Floats, t * ca, o, t * (ca + cb), ca);
            Array.Copy(b.Floats, t * cb, o, t * (ca + cb) + ca, cb);
        }
        return HostTensor.Float32(o, 1, tokens, ca + cb);
    }
}
