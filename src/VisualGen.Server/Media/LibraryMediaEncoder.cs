using VisualGen.Media;
using VisualGen.Tensors;

namespace VisualGen.Server.Media;

/// <summary>
/// The library's writers: MP4 through <see cref="Mp4Writer"/> (frames truncated as diffusers'
/// export_to_video), PNG through <see cref="PngWriter"/> (rounded as numpy_to_pil), uploads through <see cref="PngReader"/>.
/// </summary>
public sealed class LibraryMediaEncoder(Mp4Writer? mp4 = null) : IMediaEncoder
{
    readonly Mp4Writer _mp4 = mp4 ?? new Mp4Writer();

    public Task WriteMp4Async(HostTensor frames, int fps, string path, CancellationToken ct, Soundtrack? soundtrack = null)
    {
        if (frames.Rank != 4 || frames.Shape[3] != 3)
            throw new ArgumentException($"video frames must be [frames, height, width, 3], got {frames.ShapeText}");
        int n = (int)frames.Shape[0], h = (int)frames.Shape[1], w = (int)frames.Shape[2], size = h * w * 3;
        var images = new RgbImage[n];
        for (int f = 0; f < n; f++) images[f] = RgbImage.FromFloatTruncated(frames.Floats.AsSpan(f * size, size), h, w);
        ct.ThrowIfCancellationRequested();
        _mp4.Write(path, images, fps, soundtrack);
        return Task.CompletedTask;
    }

    public string? Mp4Unavailable => _mp4.Unavailable;

    public byte[] EncodePng(HostTensor image)
    {
        if (image.Rank != 3 || image.Shape[2] != 3)
            throw new ArgumentException($"an image must be [height, width, 3], got {image.ShapeText}");
        return PngWriter.Encode(RgbImage.FromFloat(image.Floats, (int)image.Shape[0], (int)image.Shape[1]));
    }

    public HostTensor DecodeImage(ReadOnlySpan<byte> data, string source)
    {
        var rgb = ImageReader.Decode(data.ToArray(), source);
        return HostTensor.Float32(rgb.ToFloat(), rgb.Height, rgb.Width, 3);
    }
}
