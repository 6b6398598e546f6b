using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;

namespace VisualGen.Cli;

/// <summary>
/// Where generate writes and in which format, from --output and --format: the format is --format, else the
/// extension of --output (.png, .mp4), else MP4 for video and PNG for images. An extension that names the other
/// format is refused, and so is any other extension (<see cref="OutputExtension"/>, the rule SaveAsync follows), MP4
/// for an image model, and '-' (stdout); all before anything is loaded or generated.
/// </summary>
sealed record OutputTarget(string Path, MediaFormat Format)
{
    /// <summary>Whether the result is written as a video (an MP4, or a folder of PNG frames) rather than as images.</summary>
    public bool WritesVideo { get; init; }

    /// <summary>What the flags ask for, checked against each other; the model's kind is applied by <see cref="Requested.For"/>.</summary>
    public static Requested FromFlags(string? output, string? format)
    {
        // '-' has no meaning here (media are written to files): it was taken as a file name, "-.mp4"
        if (output == "-")
            throw new UsageException("--output -: writing to stdout is not supported; name a file (for example output.mp4)");
        MediaFormat? flagged = format is null ? null
            : format.Trim().ToLowerInvariant() switch
            {
                "png" => MediaFormat.Png,
                "mp4" => MediaFormat.Mp4,
                _ => throw new UsageException($"--format must be 'mp4' or 'png', got '{format}'"),
            };
        // another extension (out.jpg) was written as the model's default format under that name; SaveAsync refused it
        MediaFormat? byExtension = output is null ? null
            : OutputExtension.FormatOf(output, message => new UsageException($"--output {output}: {message}"));
        if (flagged is { } f && byExtension is { } e && f != e)
            throw new UsageException($"--output {output} ends in .{Name(e)} but --format is {Name(f)}; make them agree " +
                                     $"(for PNG video frames, give --output a folder name without an extension)");
        return new Requested(output, flagged ?? byExtension);
    }

    static string Name(MediaFormat f) => f == MediaFormat.Mp4 ? "mp4" : "png";

    public sealed record Requested(string? Output, MediaFormat? Format)
    {
        /// <summary>The target for a pipeline: default format and file name from whether it makes video. A video model asked
        /// for one frame (<paramref name="oneFrame"/>: --frames 1, no soundtrack) makes an image: PNG by default, written
        /// as a PNG file (<see cref="WritesVideo"/>), as /v1/images serves it; --format mp4 or an .mp4 output still
        /// writes a one-frame video.</summary>
        public OutputTarget For(PipelineInfo info, bool oneFrame = false)
        {
            var format = Format ?? (info.ProducesVideo && !oneFrame ? MediaFormat.Mp4 : MediaFormat.Png);
            if (!info.ProducesVideo && format == MediaFormat.Mp4)
                throw new UsageException($"{info.ClassName} makes images, which are written as PNG: use --format png or an --output ending in .png");
            bool video = info.ProducesVideo && !(oneFrame && format == MediaFormat.Png);
            string path = Output ?? (format == MediaFormat.Mp4 ? "output.mp4" : video ? "output" : "output.png");
            return new OutputTarget(path, format) { WritesVideo = video };
        }
    }
}
