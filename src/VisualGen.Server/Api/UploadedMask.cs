using VisualGen.Media;
using VisualGen.Tensors;

namespace VisualGen.Server.Api;

/// <summary>
/// /v1/images/edits' "mask", as OpenAI defines it: a PNG with an alpha channel, the size of the (first) image, whose
/// fully transparent pixels (alpha 0) mark where the image is edited. It becomes the pipeline's mask_image: white where
/// alpha is 0 (repainted), black elsewhere (kept).
/// </summary>
public static class UploadedMask
{
    public static async Task<HostTensor> ReadAsync(IFormFile file, long imageHeight, long imageWidth, long maxPixels, CancellationToken ct)
    {
        if (file.Length == 0) throw ApiException.BadValue("mask", "'mask' is an empty file.");
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, ct);
        byte[] bytes = buffer.ToArray();
        if (!ImageReader.IsPng(bytes))
            throw ApiException.BadValue("mask", "'mask' must be a PNG with an alpha channel (its fully transparent pixels mark where the image is edited).");
        if (ImageHeader.Dimensions(bytes) is var (w, h) && w * h > maxPixels)
            throw ApiException.BadValue("mask", $"'mask' declares {w}x{h} pixels; this server decodes images up to {maxPixels / 1e6:0.#} megapixels (--max-image-pixels).");
        RgbImage image;
        byte[]? alpha;
        try { (image, alpha) = PngReader.DecodeWithAlpha(bytes, $"upload '{file.FileName}'"); }
        catch (MediaException e) { throw ApiException.BadValue("mask", $"'mask' could not be read as a PNG: {ClientText.WithoutPaths(e.Message)}"); }
        if (alpha is null)
            throw ApiException.BadValue("mask", "'mask' has no alpha channel: its fully transparent pixels (alpha 0) mark where the image is edited.");
        if (image.Height != imageHeight || image.Width != imageWidth)
            throw ApiException.BadValue("mask", $"'mask' is {image.Width}x{image.Height}; it must be the size of the image, {imageWidth}x{imageHeight}.");
        var rgb = new float[alpha.Length * 3];
        for (int p = 0; p < alpha.Length; p++)
            if (alpha[p] == 0) rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = 1f;
        return HostTensor.Float32(rgb, image.Height, image.Width, 3);
    }
}
