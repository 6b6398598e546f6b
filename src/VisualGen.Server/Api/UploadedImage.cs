using VisualGen.Server.Media;
using VisualGen.Tensors;

namespace VisualGen.Server.Api;

/// <summary>
/// An image file part of a multipart request (/v1/images/edits' "image", /v1/videos' "input_reference"): the bytes
/// as uploaded (kept with a video job) and the decoded [height, width, 3] image the pipeline takes. PNG only, as the
/// library reads; anything else (JPEG included) is a 400 naming the parameter. Any size is taken: the pipeline
/// resizes the image to the requested size, as the CLI's --image does.
/// </summary>
public sealed record UploadedImage(byte[] Png, HostTensor Image)
{
    public static async Task<UploadedImage> ReadAsync(IFormFile file, string param, IMediaEncoder encoder, CancellationToken ct)
    {
        if (file.Length == 0) throw ApiException.BadValue(param, $"'{param}' is an empty file.");
        using var buffer = new MemoryStream();
        await file.CopyToAsync(buffer, ct);
        byte[] bytes = buffer.ToArray();
        try
        {
            return new UploadedImage(bytes, encoder.DecodeImage(bytes, $"upload '{file.FileName}'"));
        }
        catch (VisualGen.Media.MediaException e)
        {
            throw ApiException.BadValue(param, $"'{param}' could not be read as PNG: {e.Message}");
        }
    }
}
