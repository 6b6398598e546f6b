namespace VisualGen.Media;

/// <summary>Output format: PNG (images; a folder of PNG frames for video) or MP4 (video, through ffmpeg).</summary>
public enum MediaFormat { Png, Mp4 }

public static class MediaFormats
{
    /// <summary>Parses "png" or "mp4" (the CLI's --format), case-insensitively.</summary>
    public static MediaFormat Parse(string text) => text.Trim().ToLowerInvariant() switch
    {
        "png" => MediaFormat.Png,
        "mp4" => MediaFormat.Mp4,
        _ => throw new MediaException($"format \"{text}\" is not supported (png, mp4)"),
    };
}
