using VisualGen.Engines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Flux2;

/// <summary>
/// Flux2Pipeline's reference (condition) image, as diffusers prepares it for image editing:
/// <list type="bullet">
/// <item>Flux2ImageProcessor.check_image_input: both sides at least 64 pixels, the aspect ratio at most 8:1;</item>
/// <item>larger than 1024×1024 pixels in area: resized to that area (_resize_to_target_area, LANCZOS; sizes truncated);</item>
/// <item>cropped about its centre to multiples of 16 (vae_scale_factor × 2) and scaled to [−1, 1];</item>
/// <item>prepare_image_latents: the VAE encoder's mean, 2×2 patchified, batch-norm normalized, packed into tokens with
///   position ids (T, H, W, L) = (10 + 10·i, row, column, 0) for the i-th reference.</item>
/// </list>
/// The denoiser then reads the image's tokens after the latents' at every step (both ids likewise) and only the
/// latents' part of its prediction is used. The requested size defaults to the (first) reference's cropped size.
/// </summary>
public static class Flux2ReferenceImage
{
    public const int MinSide = 64;
    public const int MaxAspectRatio = 8;
    public const long MaxArea = 1024L * 1024;
    /// <summary>_prepare_image_ids' scale: reference i has time coordinate scale + scale·i.</summary>
    public const int TimeScale = 10;

    /// <summary>The size a [height, width] image is resized to before cropping (its own when within the area).</summary>
    public static (int Height, int Width) ResizedSize(int height, int width)
    {
        if ((long)height * width <= MaxArea) return (height, width);
        double scale = Math.Sqrt((double)MaxArea / ((double)width * height));
        return ((int)(height * scale), (int)(width * scale));
    }

    /// <summary>The size the image enters the VAE at: <see cref="ResizedSize"/> floored to multiples of <paramref name="multiple"/>.</summary>
    public static (int Height, int Width) CroppedSize(HostTensor image, int multiple)
    {
        Check(image);
        var (h, w) = ResizedSize((int)image.Shape[0], (int)image.Shape[1]);
        return (h / multiple * multiple, w / multiple * multiple);
    }

    /// <summary>check_image_input, and the layout the pipelines take images in: [height, width, 3] float32.</summary>
    public static void Check(HostTensor image)
    {
        VaeInput.Check(image, "the reference image");
        long h = image.Shape[0], w = image.Shape[1];
        if (h < MinSide || w < MinSide)
            throw new GenerationException("image", $"reference image too small: {w}×{h}; both sides must be at least {MinSide} pixels");
        if (Math.Max((double)w / h, (double)h / w) > MaxAspectRatio)
            throw new GenerationException("image", $"reference image aspect ratio too extreme: {w}×{h}; at most {MaxAspectRatio}:1");
    }

    /// <summary>The image as the VAE encoder takes it: [1, 3, h, w] in [−1, 1], resized and centre-cropped.</summary>
    public static HostTensor Preprocess(HostTensor image, int multiple)
    {
        var (ch, cw) = CroppedSize(image, multiple);
        var (rh, rw) = ResizedSize((int)image.Shape[0], (int)image.Shape[1]);
        var resized = SeparableResize.Lanczos(image, rh, rw);
        return VaeInput.FromImage(VaeInput.Crop(resized, (rh - ch) / 2, (rw - cw) / 2, ch, cw));
    }

    /// <summary>Position ids of reference <paramref name="index"/>'s tokens: [h·w, 4] with (10 + 10·index, row, column, 0).</summary>
    public static HostTensor Ids(long height, long width, int index)
    {
        var ids = Flux2Latents.ImageIds(height, width);
        var values = ids.Floats;
        for (long i = 0; i < height * width; i++) values[i * 4] = TimeScale + TimeScale * index;
        return ids;
    }

    /// <summary>
    /// _encode_vae_image and the packing of prepare_image_latents: the encoder's mean [1, C, H/8, W/8], patchified to
    /// [1, 4C, H/16, W/16], normalized by the latent batch-norm, packed to tokens [1, (H/16)·(W/16), 4C]; with the grid.
    /// </summary>
    public static (HostTensor Tokens, long GridHeight, long GridWidth) Encode(IEngine vaeEncoder, Flux2LatentStats stats, HostTensor preprocessed, CancellationToken ct = default)
    {
        var mean = AutoencoderKLEncoder.Mean(vaeEncoder, preprocessed, ct);
        var patched = Flux2Latents.Patchify(mean);
        return (stats.Normalize(Flux2Latents.Pack(patched)), patched.Shape[2], patched.Shape[3]);
    }

    /// <summary>prepare_image_latents over all references: each preprocessed and encoded, the tokens concatenated in
    /// order [1, Σ h·w, 4C] and their ids [Σ h·w, 4] (reference i at time 10 + 10·i).</summary>
    public static (HostTensor Tokens, HostTensor Ids) EncodeAll(IEngine vaeEncoder, Flux2LatentStats stats, IReadOnlyList<HostTensor> images, int multiple, CancellationToken ct = default)
    {
        var tokens = new List<float>();
        var ids = new List<float>();
        long count = 0, channels = 0;
        for (int i = 0; i < images.Count; i++)
        {
            var (t, h, w) = Encode(vaeEncoder, stats, Preprocess(images[i], multiple), ct);
            tokens.AddRange(t.Floats);
            ids.AddRange(Ids(h, w, i).Floats);
            count += h * w;
            channels = t.Shape[2];
        }
        return (HostTensor.Float32([.. tokens], 1, count, channels), HostTensor.Float32([.. ids], count, 4));
    }
}
