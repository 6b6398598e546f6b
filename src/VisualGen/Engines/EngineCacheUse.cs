namespace VisualGen.Engines;

/// <summary>
/// A shared lock on an entry's use file (<c>.locks/&lt;folder&gt;.use</c>), held while a process has the entry's
/// engine loaded; <see cref="EngineCacheInventory.Prune"/> removes an entry only when it can lock that file exclusively,
/// so an entry in use is never pruned. The operating system releases the lock when its holder exits. On a cache that
/// cannot be written there is no use file, and nothing to hold: such a cache cannot be pruned either.
/// </summary>
sealed class EngineCacheUse : IDisposable
{
    readonly FileStream _stream;

    EngineCacheUse(FileStream stream) => _stream = stream;

    public static string PathOf(string locksDirectory, string folder) => Path.Combine(locksDirectory, folder + ".use");

    /// <summary>Holds the entry's use lock; waits while a prune holds it (it holds it only to move the entry aside).</summary>
    public static EngineCacheUse? Hold(string locksDirectory, string folder)
    {
        string path = PathOf(locksDirectory, folder);
        try
        {
            Directory.CreateDirectory(locksDirectory);
            if (!File.Exists(path)) File.WriteAllBytes(path, []);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return null; }
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            // opened for reading with sharing: .NET takes a shared flock, which only an exclusive holder blocks
            try { return new EngineCacheUse(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite)); }
            catch (UnauthorizedAccessException) { return null; }
            catch (IOException) when (DateTime.UtcNow < deadline && File.Exists(path)) { Thread.Sleep(50); }
            catch (IOException e)
            {
                throw new EngineException($"the engine cache's use lock {path} stayed locked for 30 s (a prune of the cache holds it while it removes the entry): {e.Message}");
            }
        }
    }

    /// <summary>The entry's use lock held exclusively (no process has the engine loaded), or null when it is in use.</summary>
    public static IDisposable? TryHoldExclusively(string locksDirectory, string folder)
    {
        string path = PathOf(locksDirectory, folder);
        Directory.CreateDirectory(locksDirectory);
        try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
        catch (IOException) { return null; }
    }

    public void Dispose() => _stream.Dispose();
}
