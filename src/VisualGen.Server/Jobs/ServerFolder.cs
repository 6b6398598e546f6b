namespace VisualGen.Server.Jobs;

/// <summary>The folders the server writes (jobs/, videos/, inputs/, images/ under --data or --outputs), created at start:
/// one that cannot be is named with the flag that chose it, not only the runtime's "Could not find file".</summary>
public static class ServerFolder
{
    public static void Create(string path)
    {
        try { Directory.CreateDirectory(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create {Path.GetFullPath(path)} (--data and --outputs name folders the server writes): {e.Message}", e);
        }
    }
}
