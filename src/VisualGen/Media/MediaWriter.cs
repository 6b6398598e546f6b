using VisualGen.Pipelines;

namespace VisualGen.Media;

/// <summary>
/// Saves a <see cref="GenerationResult"/>: images as PNG (a batch of n &gt; 1 as name_0.png ... name_{n-1}.png);
/// video as MP4 (name_i.mp4 for a batch) or as a folder of PNG frames (the path without its extension; name_i for
/// a batch). Images round as diffusers' numpy_to_pil; MP4 frames truncate as diffusers' export_to_video.
/// </summary>
public sealed class MediaWriter(Mp4Writer? mp4 = null)
{
    readonly Mp4Writer _mp4 = mp4 ?? new Mp4Writer();

    /// <summary>Saves with a default <see cref="MediaWriter"/> (ffmpeg from PATH).</summary>
    public static IReadOnlyList<string> Save(GenerationResult result, string path, MediaFormat format) =>
        new MediaWriter().Write(result, path, format);

    /// <summary>Writes the result and returns the paths written (files, or frame folders for PNG video).</summary>
    public IReadOnlyList<string> Write(GenerationResult result, string path, MediaFormat format)
    {
        var output = result.Output;
        var shape = output.Shape;
        int rank = result.IsVideo ? 5 : 4;
        if (output.Rank != rank || shape[^1] != 3)
            throw new MediaException(
                $"{path}: output is {output.ShapeText}, expected [batch, {(result.IsVideo ? "frames, " : "")}height, width, 3]");
        int batch = (int)shape[0], frames = result.IsVideo ? (int)shape[1] : 1, h = (int)shape[^3], w = (int)shape[^2];
        var data = output.Floats;
        int frameSize = h * w * 3;
        var written = new List<string>();

        if (!result.IsVideo)
        {
            if (format != MediaFormat.Png) throw new MediaException($"{path}: images are written as PNG, not {format}");
            for (int b = 0; b < batch; b++)
            {
                var target = Indexed(path, b, batch, ".png");
                PngWriter.Write(target, RgbImage.FromFloat(data.AsSpan(b * frameSize, frameSize), h, w));
                written.Add(target);
            }
            return written;
        }

        for (int b = 0; b < batch; b++)
        {
            var images = new RgbImage[frames];
            for (int f = 0; f < frames; f++)
            {
                var span = data.AsSpan((b * frames + f) * frameSize, frameSize);
                images[f] = format == MediaFormat.Mp4 ? RgbImage.FromFloatTruncated(span, h, w) : RgbImage.FromFloat(span, h, w);
            }
            if (format == MediaFormat.Mp4)
            {
                var target = Indexed(path, b, batch, ".mp4");
                _mp4.Write(target, images, result.FramesPerSecond);
                written.Add(target);
            }
            else
            {
                var folder = Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path));
                if (batch > 1) folder += $"_{b}";
                FrameFolderWriter.Write(folder, images);
                written.Add(folder);
            }
        }
        return written;
    }

    /// <summary>path for a batch of one; name_i.ext for a larger batch (the extension defaults to <paramref name="ext"/>).</summary>
    static string Indexed(string path, int index, int count, string ext)
    {
        var e = Path.GetExtension(path);
        if (e.Length == 0) { e = ext; path += ext; }
        if (count == 1) return path;
        return Path.Combine(Path.GetDirectoryName(path) ?? "", $"{Path.GetFileNameWithoutExtension(path)}_{index}{e}");
    }
}
