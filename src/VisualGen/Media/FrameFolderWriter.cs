using System.Text.RegularExpressions;

namespace VisualGen.Media;

/// <summary>
/// Writes a video as frame_0000.png, frame_0001.png, ... in one folder (no ffmpeg needed). The frames are written into a
/// staging folder beside it and swapped in whole, so the folder holds exactly this video's frames: never a mix with a
/// longer video written there before (its extra frames would stay), never half of one when a write fails (the previous
/// frames stay). A folder that holds anything but frames is not an output folder and is refused.
/// </summary>
public static partial class FrameFolderWriter
{
    public static string FrameName(int index) => $"frame_{index:D4}.png";

    [GeneratedRegex(@"^frame_\d{4,}\.png$")]
    private static partial Regex FrameFile();

    /// <summary>Why <paramref name="folder"/> cannot take a video's frames (a file, or a folder with other entries), or null.</summary>
    public static string? Problem(string folder)
    {
        if (File.Exists(folder)) return "is a file; PNG frames need a folder there";
        if (!Directory.Exists(folder)) return null;
        var other = Directory.EnumerateFileSystemEntries(folder).Select(Path.GetFileName).FirstOrDefault(n => !FrameFile().IsMatch(n!));
        return other is null ? null
            : $"exists and holds '{other}', which is not a PNG frame: the frames replace a folder of frames only (choose another --output)";
    }

    /// <summary>Writes every frame and returns the file paths in order. A cancelled <paramref name="cancellationToken"/>
    /// stops between frames with <see cref="OperationCanceledException"/>: the staging folder goes, the previous frames stay.</summary>
    public static IReadOnlyList<string> Write(string folder, IReadOnlyList<RgbImage> frames, CancellationToken cancellationToken = default)
    {
        if (frames.Count == 0) throw new ArgumentException("a video needs at least one frame", nameof(frames));
        folder = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder));
        if (Problem(folder) is { } problem) throw new MediaException($"{folder}: {problem}");
        string parent = Path.GetDirectoryName(folder)!;
        Directory.CreateDirectory(parent);
        string staging = WritableLocation.TempBeside(folder);
        string? old = null;
        try
        {
            Directory.CreateDirectory(staging);
            for (int i = 0; i < frames.Count; i++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                PngWriter.Write(Path.Combine(staging, FrameName(i)), frames[i]);
            }
            cancellationToken.ThrowIfCancellationRequested();
            if (Directory.Exists(folder))
            {
                old = WritableLocation.TempBeside(folder, ".old");
                Directory.Move(folder, old);
            }
            Directory.Move(staging, folder);
        }
        catch
        {
            if (old is not null && Directory.Exists(old) && !Directory.Exists(folder)) Directory.Move(old, folder);  // the previous frames back
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
            throw;
        }
        if (old is not null) Directory.Delete(old, recursive: true);
        return Enumerable.Range(0, frames.Count).Select(i => Path.Combine(folder, FrameName(i))).ToList();
    }
}
