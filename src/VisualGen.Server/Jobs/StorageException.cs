using VisualGen.Server.Api;

namespace VisualGen.Server.Jobs;

/// <summary>
/// The data folder refused a write or a delete: a full disk, a read-only mount, a file where a folder should be. The
/// message says what could not be stored and the system's reason, with paths cut to file names (it reaches clients).
/// </summary>
public sealed class StorageException(string message, Exception inner, bool isDelete) : Exception(message, inner)
{
    /// <summary>A delete failed (nothing was deleted); else a write failed (nothing was stored).</summary>
    public bool IsDelete { get; } = isDelete;

    public static bool IsStorageFault(Exception e) => e is IOException or UnauthorizedAccessException;

    public static StorageException Writing(string what, Exception e) =>
        new($"The server could not write {what} to its data folder: {ClientText.WithoutPaths(e.Message)}", e, isDelete: false);

    public static StorageException Deleting(string what, Exception e) =>
        new($"The server could not delete {what} from its data folder: {ClientText.WithoutPaths(e.Message)}", e, isDelete: true);

    /// <summary>Deletes a file if it can; for leftovers (temporary files, files of a job already gone) that a later start removes anyway.</summary>
    public static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (IsStorageFault(e)) { }
    }
}
