namespace VisualGen.Engines;

/// <summary>One entry folder of an engine cache: its manifest (null with <see cref="Problem"/> when it cannot be read),
/// the bytes of its files and when an engine was last loaded from it.</summary>
public sealed record EngineCacheListing(string Folder, string Directory, EngineManifest? Manifest, long Bytes, DateTime LastUsedUtc, string? Problem)
{
    /// <summary>The manifest's component, else the folder's name before its key.</summary>
    public string Component => Manifest?.Component ?? (Folder.LastIndexOf('-') is > 0 and var dash ? Folder[..dash] : Folder);
}

/// <summary>What a prune removed, what it kept because a process has the engine loaded (or is building it), and the
/// bytes it freed (or would free, in a dry run).</summary>
public sealed record EngineCachePruneResult(IReadOnlyList<EngineCacheListing> Removed, IReadOnlyList<EngineCacheListing> InUse, long FreedBytes,
    int LeftoversRemoved = 0)
{
    /// <summary>A dry run on a cache whose locks cannot be taken (read-only): whether a process has the entries it lists
    /// loaded was not checked.</summary>
    public bool InUseUnchecked { get; init; }
}

/// <summary>
/// The entries of an engine cache, for listing and pruning. An entry's last use is when an engine was last loaded
/// from it (<see cref="EngineCache"/> sets its folder's write time on every load). A prune removes entries unused for
/// longer than an age, each under its build lock and its use lock held exclusively, so an entry a process has loaded
/// (<see cref="EngineCacheEntry.InUse"/>) or is building is never removed; it also removes the leftovers of builds that
/// died. A removed entry is built again by the next run that needs it.
/// </summary>
public sealed partial class EngineCacheInventory(EngineCache cache)
{
    /// <summary><see cref="EngineCache.FolderName"/>'s shape: the sanitized component, '-', the key's first 16 hex digits.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_.]+-[0-9a-f]{16}$")]
    private static partial System.Text.RegularExpressions.Regex EntryName();

    /// <summary>Every entry folder, most recently used first. Folders not named as entries are none of the cache's (a
    /// mistyped --cache pointing at a folder of other things): never listed, never pruned.</summary>
    public IReadOnlyList<EngineCacheListing> List()
    {
        if (!System.IO.Directory.Exists(cache.Root)) return [];
        var list = new List<EngineCacheListing>();
        foreach (var dir in System.IO.Directory.GetDirectories(cache.Root))
        {
            string folder = Path.GetFileName(dir);
            // .keys, .locks, .weight-hashes and builds in progress start with '.'
            if (folder.StartsWith('.') || !EntryName().IsMatch(folder)) continue;
            list.Add(Listing(folder, dir));
        }
        return [.. list.OrderByDescending(l => l.LastUsedUtc).ThenBy(l => l.Folder, StringComparer.Ordinal)];
    }

    static EngineCacheListing Listing(string folder, string dir)
    {
        long bytes = 0;
        foreach (var f in new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories)) bytes += f.Length;
        DateTime lastUsed = System.IO.Directory.GetLastWriteTimeUtc(dir);
        try
        {
            var manifest = EngineCache.ReadManifest(dir, out string? problem);
            return new(folder, dir, manifest, bytes, lastUsed, problem);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new(folder, dir, null, bytes, lastUsed, $"{EngineCache.ManifestFileName} cannot be read ({e.Message})");
        }
    }

    /// <summary>Removes the entries last used before <paramref name="now"/> − <paramref name="unusedFor"/> that no process
    /// has loaded or is building; with <paramref name="dryRun"/> only says which it would remove.</summary>
    public EngineCachePruneResult Prune(TimeSpan unusedFor, bool dryRun, DateTime? now = null)
    {
        var cutoff = (now ?? DateTime.UtcNow) - unusedFor;
        var removed = new List<EngineCacheListing>();
        var inUse = new List<EngineCacheListing>();
        int leftovers = cache.CleanStale(dryRun);
        bool inUseUnchecked = false;
        foreach (var entry in List().Where(l => l.LastUsedUtc < cutoff))
        {
            string locks = cache.LocksDirectory;
            EngineCacheLock? build;
            try
            {
                System.IO.Directory.CreateDirectory(locks);
                build = EngineCacheLock.TryAcquire(Path.Combine(locks, entry.Folder + ".lock"));
            }
            catch (Exception e) when (e is EngineException or IOException or UnauthorizedAccessException)
            {
                // a read-only cache: nothing can be removed, and a dry run cannot ask the locks whether an entry is in use
                if (!dryRun)
                    throw new EngineException($"cannot prune the engine cache {cache.Root}: the lock of {entry.Folder} cannot be taken " +
                        $"({(e is EngineException ? e.InnerException?.Message ?? e.Message : e.Message)}); a read-only cache cannot be pruned (--dry-run lists what a prune would remove)", e);
                inUseUnchecked = true;
                removed.Add(entry);
                continue;
            }
            using var held = build;
            using var use = build is null ? null : EngineCacheUse.TryHoldExclusively(locks, entry.Folder);
            if (use is null) { inUse.Add(entry); continue; }
            // loaded again since it was listed: no longer unused
            if (System.IO.Directory.GetLastWriteTimeUtc(entry.Directory) >= cutoff) continue;
            if (!dryRun) cache.Remove(entry.Directory, entry.Folder);
            removed.Add(entry);
        }
        return new(removed, inUse, removed.Sum(r => r.Bytes), leftovers) { InUseUnchecked = inUseUnchecked };
    }
}
