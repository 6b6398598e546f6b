using VisualGen.Media;
using VisualGen.Pipelines;

namespace VisualGen;

public static class GenerationResultExtensions
{
    /// <summary>
    /// Writes the result through the media writers and returns the paths written. The format is
    /// <paramref name="format"/>, else the path's extension (.png, .mp4), else MP4 for video and PNG for images.
    /// Images are PNG (name_i.png for a batch); video is MP4 through ffmpeg on PATH, or a folder of PNG frames
    /// (the path without its extension) with <see cref="MediaFormat.Png"/>. The path's extension follows the CLI's
    /// <c>--output</c> rule (<see cref="OutputExtension"/>): another extension than .png or .mp4, or one that names
    /// the other format than <paramref name="format"/>, is an <see cref="ArgumentException"/> before anything is
    /// written. Problems writing are a <see cref="MediaException"/> naming the path. Cancelled while it writes (between
    /// files and frames; an MP4's ffmpeg is stopped), it throws <see cref="OperationCanceledException"/> and removes what
    /// it wrote: no partial file or batch is left.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SaveAsync(this GenerationResult result, string path, MediaFormat? format = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (format is { } given && !Enum.IsDefined(given))
            throw new ArgumentException($"unknown media format {(int)given}; use {nameof(MediaFormat)}.Png or .Mp4", nameof(format));
        // another extension (.gif, .webm) would hold MP4 or PNG bytes under a name that says otherwise, format given or not
        var named = OutputExtension.FormatOf(path, message => new ArgumentException($"{path}: {message}", nameof(path)));
        if (format is { } asked && named is { } byName && asked != byName)
            throw new ArgumentException($"{path} ends in {OutputExtension.Of(byName)} but the format is {asked}; make them agree " +
                                        "(for PNG video frames, a path without an extension names the folder)", nameof(path));
        var chosen = format ?? named ?? (result.IsVideo ? MediaFormat.Mp4 : MediaFormat.Png);
        var writer = new MediaWriter();
        writer.CheckTarget(path, chosen, result.IsVideo);
        return await Task.Run(() => writer.Write(result, path, chosen, cancellationToken), cancellationToken);
    }
}
