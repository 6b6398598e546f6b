namespace VisualGen.Media;

/// <summary>Finds the ffmpeg executable: an explicit path, else the first "ffmpeg" on PATH.</summary>
public static class Ffmpeg
{
    public const string MissingHelp =
        "ffmpeg was not found on PATH; it is needed to write MP4 video. Install it (Debian/Ubuntu: `sudo apt-get install ffmpeg`; " +
        "macOS: `brew install ffmpeg`; Windows: `winget install ffmpeg`), or use `--format png` to write the frames as PNG files without it.";

    /// <summary>The ffmpeg to run, or null when none is on <paramref name="pathVariable"/> (default: the PATH environment variable).</summary>
    public static string? Find(string? pathVariable = null)
    {
        pathVariable ??= Environment.GetEnvironmentVariable("PATH") ?? "";
        string exe = OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";
        foreach (var dir in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, exe);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }
}
