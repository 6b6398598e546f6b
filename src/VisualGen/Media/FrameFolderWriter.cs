namespace VisualGen.Media;

/// <summary>Writes a video as frame_0000.png, frame_0001.png, ... in one folder (no ffmpeg needed).</summary>
public static class FrameFolderWriter
{
    public static string FrameName(int index) => $"frame_{index:D4}.png";

    /// <summary>Writes every frame and returns the file paths in order.</summary>
    public static IReadOnlyList<string> Write(string folder, IReadOnlyList<RgbImage> frames)
    {
        if (frames.Count == 0) throw new ArgumentException("a video needs at least one frame", nameof(frames));
        if (File.Exists(folder)) throw new MediaException($"{folder}: is a file; PNG frames need a folder there");
        Directory.CreateDirectory(folder);
        var paths = new string[frames.Count];
        for (int i = 0; i < frames.Count; i++) PngWriter.Write(paths[i] = Path.Combine(folder, FrameName(i)), frames[i]);
        return paths;
    }
}
