using VisualGen.Media;
using VisualGen.Pipelines;

namespace VisualGen;

public static class GenerationResultExtensions
{
    /// <summary>
    /// Writes the result through the media writers and returns the paths written. The format is
    /// <paramref name="format"/>, else the path's extension (.png, .mp4), else MP4 for video and PNG for images.
    /// Images are PNG (name_i.png for a batch); video is MP4 through ffmpeg on PATH, or a folder of PNG frames
    /// (the path without its extension) with <see cref="MediaFormat.Png"/>. Problems are a <see cref="MediaException"/>
    /// naming the path.
    /// </summary>
    public static async Task<IReadOnlyList<string>> SaveAsync(this GenerationResult result, string path, MediaFormat? format = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (format is { } given && !Enum.IsDefined(given))
            throw new ArgumentException($"unknown media format {(int)given}; use {nameof(MediaFormat)}.Png or .Mp4", nameof(format));
        // another extension (.gif, .webm) would hold MP4 or PNG bytes under a name that says otherwise
        var chosen = format ?? Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".png" => MediaFormat.Png,
            ".mp4" => MediaFormat.Mp4,
            "" => result.IsVideo ? MediaFormat.Mp4 : MediaFormat.Png,
            var other => throw new ArgumentException($"{path}: '{other}' is neither .png nor .mp4; name the file .png or .mp4 (or pass a {nameof(MediaFormat)})", nameof(path)),
        };
        var writer = new MediaWriter();
        writer.CheckTarget(path, chosen, result.IsVideo);
        return await Task.Run(() => writer.Write(result, path, chosen), cancellationToken);
    }
}
