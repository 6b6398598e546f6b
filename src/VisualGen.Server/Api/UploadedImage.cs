using VisualGen.Server.Media;
using VisualGen.Tensors;

namespace VisualGen.Server.Api;

/// <summary>
/// An image file part of a multipart request (/v1/images/edits' "image", /v1/videos' "input_reference"): the bytes
/// as PNG (kept with a video job; an upload in another format is stored re-encoded) and the decoded [height, width, 3]
/// image the pipeline takes. PNG is read directly, other formats (JPEG, WebP, …) through ffmpeg as the CLI's --image
/// does; an unreadable file is a 400 whose param is the part's field as the client sent it. Any size is taken: the
/// pipeline resizes the image to the requested size, as the CLI's --image does.
/// </summary>
public sealed record UploadedImage(byte[] Png, HostTensor Image)
{
    /// <param name="label">the part as the messages name it: its field, or one of several image parts by index ("image[2]").</param>
    /// <param name="maxPixels">the most pixels the file may declare in its header; more is refused before decoding.</param>
    public static async Task<UploadedImage> ReadAsync(IFormFile file, string label, IMediaEncoder encoder, long maxPixels, CancellationToken ct)
    {
        string param = file.Name;
        if (file.Length == 0) throw ApiException.BadValue(param, $"'{label}' is an empty file.");
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, ct);
        byte[] bytes = buffer.ToArray();
        if (VisualGen.Media.ImageHeader.Dimensions(bytes) is var (w, h) && w * h > maxPixels)
            throw ApiException.BadValue(param, $"'{label}' declares {w}x{h} pixels ({w * h / 1e6:0.#} megapixels); this server decodes images up to {maxPixels / 1e6:0.#} megapixels (--max-image-pixels).");
        try
        {
            var image = encoder.DecodeImage(bytes, $"upload '{file.FileName}'");
            return new UploadedImage(VisualGen.Media.ImageReader.IsPng(bytes) ? bytes : encoder.EncodePng(image), image);
        }
        catch (VisualGen.Media.MediaException e)
        {
            throw ApiException.BadValue(param, $"'{label}' could not be read as an image: {ClientText.WithoutPaths(e.Message)}");
        }
    }
}
