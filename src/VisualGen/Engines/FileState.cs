namespace VisualGen.Engines;

/// <summary>
/// What a file's metadata says about its content without reading it: its size and last write time (UTC ticks).
/// Any write through the file system changes the time, so an unchanged state stands for unchanged bytes, with two
/// limits: a file written within the file system's time resolution of the moment its state was taken can change again
/// under the same time (see <see cref="IsSettled"/>), and a deliberate reset of the time (<c>touch -r</c>) hides a change.
/// </summary>
public readonly record struct FileState(long Size, long LastWriteTicks)
{
    /// <summary>How old a write must be before a recorded state may stand for the content: file systems with coarse
    /// times (FAT 2 s; ext3, HFS+ 1 s) give a second write within that window the same time as the first.</summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromSeconds(2);

    /// <summary>The state of the file at <paramref name="path"/> (links followed); the file must exist.</summary>
    public static FileState Of(string path)
    {
        var info = Target(path);
        if (!info.Exists) throw new FileNotFoundException($"file not found: {path}", path);
        return new FileState(info.Length, info.LastWriteTimeUtc.Ticks);
    }

    /// <summary>The file <paramref name="path"/> names, symbolic links followed: a Hugging Face cache snapshot links every
    /// file into its blobs/ folder, and FileInfo's length and times are otherwise the link's own.</summary>
    public static FileInfo Target(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is not null && info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target ? target : info;
    }

    /// <summary>Whether the last write is at least <see cref="SettleTime"/> older than <paramref name="nowUtc"/>.</summary>
    public bool IsSettled(DateTime nowUtc) => nowUtc.Ticks - LastWriteTicks >= SettleTime.Ticks;
}
