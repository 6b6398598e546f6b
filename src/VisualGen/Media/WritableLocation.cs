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
}
