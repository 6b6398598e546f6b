namespace VisualGen.Media;

/// <summary>
/// What an output path's extension says, one rule for the CLI's <c>generate --output</c> and the library's
/// <c>SaveAsync</c>: .png and .mp4 (in any case) name their formats; a path without an extension names none, so the
/// format asked for, else the media's default (MP4 for video, PNG for images), decides, and the writer adds its
/// extension. Any other extension (.jpg, .gif, .webm) is refused, whatever format is asked for: the writers would put
/// PNG or MP4 bytes under a name that says otherwise.
/// </summary>
public static class OutputExtension
{
    /// <summary>The extensions the writers write, as the refusal names them.</summary>
    public const string Supported = ".png and .mp4";

    /// <summary>The format <paramref name="path"/>'s extension names, or null when it has none. Another extension is
    /// thrown as <paramref name="refuse"/> makes it from the message (the caller's own error: a usage error for the
    /// CLI, an <see cref="ArgumentException"/> for the library), before anything is generated or written.</summary>
    public static MediaFormat? FormatOf(string path, Func<string, Exception> refuse)
    {
        string extension = Path.GetExtension(path);
        return extension.ToLowerInvariant() switch
        {
            "" => null,
            ".png" => MediaFormat.Png,
            ".mp4" => MediaFormat.Mp4,
            _ => throw refuse($"'{extension}' is not an extension VisualGen writes; the supported extensions are {Supported} " +
                              "(a path without one gets MP4 for video, PNG for images)"),
        };
    }

    /// <summary>The extension a format's files take.</summary>
    public static string Of(MediaFormat format) => format == MediaFormat.Mp4 ? ".mp4" : ".png";
}
