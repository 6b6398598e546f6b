namespace VisualGen.Media;

/// <summary>
/// Whether files can be written in a folder, found before any work is done: the folder exists and takes a file, or
/// its nearest existing parent is a folder that takes a file (so the folder can be created). Checked by writing and
/// deleting a probe file, because permission bits do not say what root, read-only mounts or /proc allow.
/// </summary>
public static class WritableLocation
{
    /// <summary>Null when files can be written in <paramref name="folder"/>; otherwise what stands in the way, in words.
    /// With <paramref name="fileName"/>, the probe's name is as long as it, so a name longer than the file system takes
    /// (255 bytes on Linux) is found here too: it failed only when the output was written, after the work.</summary>
    public static string? Problem(string folder, string? fileName = null)
    {
        string full = Path.GetFullPath(folder);
        string? existing = full;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing)) return $"{existing} is a file, not a folder";
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) return $"no part of {full} exists";
        string probeName = $".visualgen-write-probe-{Guid.NewGuid():N}";
        if (fileName is not null && NameLength(fileName) > probeName.Length) probeName = probeName.PadRight(NameLength(fileName), 'x');
        string probe = Path.Combine(existing, probeName);
        try
        {
            using (new FileStream(probe, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (PathTooLongException) when (fileName is not null && probeName.Length > 64)
        {
            return $"the file name '{fileName}' is {NameLength(fileName)} {(OperatingSystem.IsWindows() ? "characters" : "bytes")} long, more than the file system takes; choose a shorter one";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"cannot create files in {existing} ({e.Message})";
        }
    }

    /// <summary>A file name's length as the file system counts it: UTF-16 characters on Windows, UTF-8 bytes elsewhere.</summary>
    static int NameLength(string name) => OperatingSystem.IsWindows() ? name.Length : System.Text.Encoding.UTF8.GetByteCount(name);

    /// <summary>A temporary path beside <paramref name="path"/> for writing it and renaming it into place: a hidden name made of
    /// the file's name, a unique part and <paramref name="suffix"/>. A long name is shortened in it: a name the file system
    /// takes (up to 255 bytes) failed as its temporary name, 38 characters longer, did not.</summary>
    public static string TempBeside(string path, string suffix = ".tmp")
    {
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        string name = Path.GetFileName(full);
        if (name.Length > 64) name = name[..(char.IsHighSurrogate(name[63]) ? 63 : 64)];
        return Path.Combine(Path.GetDirectoryName(full)!, $".{name}.{Guid.NewGuid():N}{suffix}");
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
        string full = Path.GetFullPath(path);
        if (Problem(Path.GetDirectoryName(full)!, Path.GetFileName(full)) is { } problem) throw new MediaException($"{flag} {path}: cannot write: {problem}");
    }
}
