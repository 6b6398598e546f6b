namespace VisualGen.Media;

/// <summary>
/// Whether files can be written in a folder, found before any work is done: the folder exists and takes a file, or
/// its nearest existing parent is a folder that takes a file (so the folder can be created). Checked by writing and
/// deleting a probe file, because permission bits do not say what root, read-only mounts or /proc allow.
/// </summary>
public static class WritableLocation
{
    /// <summary>Null when files can be written in <paramref name="folder"/>; otherwise what stands in the way, in words.</summary>
    public static string? Problem(string folder)
    {
        string full = Path.GetFullPath(folder);
        string? existing = full;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing)) return $"{existing} is a file, not a folder";
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) return $"no part of {full} exists";
        string probe = Path.Combine(existing, $".visualgen-write-probe-{Guid.NewGuid():N}");
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot create files in {existing} ({e.Message})";
        }
    }

    /// <summary>What a path given for a file says of itself as a folder: "is a folder" (one exists there), "names a folder"
    /// (it ends in a separator: "out/"), or null (it can name a file).</summary>
    public static string? AsFolder(string path) =>
        Directory.Exists(path) ? "is a folder" : Path.EndsInDirectorySeparator(path) ? "names a folder" : null;

    /// <summary>Refuses, before any work, a file output named by <paramref name="flag"/> that is (or ends in a separator as) a folder or whose folder
    /// cannot take files, or '-' (<see cref="MediaException"/>: "--output X: is a folder; name the safetensors file to write").</summary>
    public static void RequireFile(string flag, string path)
    {
        // '-' has no meaning here (tensors are written to files): it was taken as a file name in the working folder
        if (path == "-") throw new MediaException($"{flag} -: writing to stdout is not supported; name the safetensors file to write");
        // a path ending in a separator ("out/") names a folder too: the write failed after the work, "Could not find a part of the path"
        if (AsFolder(path) is { } folder) throw new MediaException($"{flag} {path}: {folder}; name the safetensors file to write");
        if (Problem(Path.GetDirectoryName(Path.GetFullPath(path))!) is { } problem) throw new MediaException($"{flag} {path}: cannot write: {problem}");
    }
}
