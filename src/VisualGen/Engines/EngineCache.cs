using System.Diagnostics;
using System.Text.Json;

namespace VisualGen.Engines;

/// <summary>
/// Built engines on disk, one folder per key (<c>&lt;component&gt;-&lt;key prefix&gt;</c>) holding the backend's files
/// and a <c>manifest.json</c> with every file's SHA-256. An entry is built in a temporary folder under the root and
/// renamed into place, so a crash never leaves a half entry; builds of one key are serialized by a lock file, so
/// concurrent processes build it once; a corrupt entry is moved aside and rebuilt. On load every file's SHA-256 is
/// checked against the manifest unless the entry's <see cref="EngineVerificationStamp"/> shows the file unchanged
/// (same size and write time) since it last matched; <see cref="VerifyAllFiles"/> hashes every file on every load.
/// A valid entry is loaded without taking the lock, so a copied, read-only cache works.
/// </summary>
public sealed class EngineCache
{
    public const string ManifestFileName = "manifest.json";
    internal const string TempPrefix = ".tmp-", TrashPrefix = ".trash-", LocksFolder = ".locks";

    static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    public string Root { get; }

    /// <summary>How long to wait for another process building the same key.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Hash every file of an entry on every load, ignoring verification stamps: catches a change that kept
    /// a file's size and write time (a restored timestamp, bit rot), at the cost of reading the whole entry. Set it
    /// before the cache is used (the build command's <c>--verify full</c>).</summary>
    public bool VerifyAllFiles { get; set; }

    public EngineCache(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The entry folder name: the component (for readers) and the key's first 16 hex digits.</summary>
    public static string FolderName(string component, string key) =>
        string.Concat(component.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' ? c : '_')) + "-" + key[..16];

    public string EntryDirectory(EngineBuildRequest request, IEngineBackend backend) =>
        Path.Combine(Root, FolderName(request.Component, EngineCacheKey.Compute(request.KeyParts(backend))));

    /// <summary>A new folder name for files a build of <paramref name="request"/>'s entry stages outside its entry (the
    /// exported graph), named as the build's own temporary folder: one that a killed process left is removed by the next
    /// build of the entry or by <see cref="CleanStale"/>, once no process holds the entry's build lock.</summary>
    public string StagingDirectory(EngineBuildRequest request, IEngineBackend backend) =>
        TempDirectory(Path.GetFileName(EntryDirectory(request, backend)));

    // ".tmp-<folder>-<pid>-<guid>": a build's own folder or one it stages files in (LeftoverOwner reads it back)
    string TempDirectory(string folder) => Path.Combine(Root, $"{TempPrefix}{folder}-{Environment.ProcessId}-{Guid.NewGuid():N}");

    /// <summary>Loads the engine of <paramref name="request"/> from the cache, building it first when it is missing or corrupt.
    /// <paramref name="cancellation"/> ends a wait for another process's build, and a build whose graph is still being
    /// written (its temporary folder removed); an OperationCanceledException says so.</summary>
    public EngineCacheEntry GetOrBuild(EngineBuildRequest request, IEngineBackend backend, IProgress<string>? progress = null,
        CancellationToken cancellation = default)
    {
        var parts = request.KeyParts(backend);
        if (TryLoad(request.Component, parts, backend, progress, out _) is { } found) return found;
        string key = EngineCacheKey.Compute(parts);
        string folder = FolderName(request.Component, key);
        string entryDir = Path.Combine(Root, folder);
        EngineManifest? manifest = null;

        string lockPath = Path.Combine(Root, LocksFolder, folder + ".lock");
        bool hit = false;
        EngineCacheUse? use;
        using (EngineCacheLock.Acquire(lockPath, LockTimeout,
            () => progress?.Report($"waiting for another process building {request.Component} (lock {lockPath})"), cancellation))
        {
            cancellation.ThrowIfCancellationRequested();
            DeleteLeftovers(folder);
            if (Directory.Exists(entryDir))
            {
                string? problem = Check(entryDir, key, parts, progress, out manifest) ?? backend.EntryProblem(entryDir);
                if (problem is null) hit = true;
                else
                {
                    progress?.Report($"corrupt entry {entryDir}: {problem}; rebuilding");
                    MoveAside(entryDir, folder);
                }
            }
            if (!hit) manifest = Build(request, backend, key, parts, entryDir, folder, progress);
            // taken under the build lock, which a prune takes first: the entry cannot go before it is held
            use = EngineCacheUse.Hold(LocksDirectory, folder);
        }
        return Load(entryDir, manifest!, backend, hit, progress, use);
    }

    internal string LocksDirectory => Path.Combine(Root, LocksFolder);

    /// <summary>Loads the entry of <paramref name="parts"/> when it is in the cache and intact, without building and
    /// without the lock; null otherwise, with <paramref name="problem"/> saying what is wrong (null: no such entry).
    /// A corrupt entry is left in place: <see cref="GetOrBuild"/> moves it aside and rebuilds it.</summary>
    public EngineCacheEntry? TryLoad(string component, EngineKeyParts parts, IEngineBackend backend, IProgress<string>? progress, out string? problem)
    {
        string key = EngineCacheKey.Compute(parts);
        string entryDir = Path.Combine(Root, FolderName(component, key));
        problem = null;
        if (!Directory.Exists(entryDir)) return null;
        // held before the entry is checked, so a prune cannot remove it between the check and the load
        var use = EngineCacheUse.Hold(LocksDirectory, FolderName(component, key));
        try
        {
            if (!Directory.Exists(entryDir)) { use?.Dispose(); return null; }
            problem = Check(entryDir, key, parts, progress, out var manifest) ?? backend.EntryProblem(entryDir);
            if (problem is null) return Load(entryDir, manifest!, backend, hit: true, progress, use);
            use?.Dispose();
            return null;
        }
        catch
        {
            use?.Dispose();
            throw;
        }
    }

    /// <summary>Deletes temporary and moved-aside folders that no live build owns (their key's lock is free). Returns how many
    /// (with <paramref name="dryRun"/>: how many it would delete, deleting none).</summary>
    public int CleanStale(bool dryRun = false)
    {
        if (!Directory.Exists(Root)) return 0;
        int removed = 0;
        foreach (var dir in Directory.GetDirectories(Root))
        {
            string name = Path.GetFileName(dir);
            string? folder = LeftoverOwner(name);
            if (folder is null) continue;
            string lockPath = Path.Combine(Root, LocksFolder, folder + ".lock");
            using var held = EngineCacheLock.TryAcquire(lockPath);
            if (held is not null && (dryRun || TryDelete(dir))) removed++;
        }
        return removed;
    }

    // ".tmp-<folder>-<pid>-<guid>" / ".trash-<folder>-<guid>" → "<folder>".
    internal static string? LeftoverOwner(string name)
    {
        string rest;
        int tail;
        if (name.StartsWith(TempPrefix, StringComparison.Ordinal)) { rest = name[TempPrefix.Length..]; tail = 2; }
        else if (name.StartsWith(TrashPrefix, StringComparison.Ordinal)) { rest = name[TrashPrefix.Length..]; tail = 1; }
        else return null;
        for (int i = 0; i < tail; i++)
        {
            int dash = rest.LastIndexOf('-');
            if (dash <= 0) return null;
            rest = rest[..dash];
        }
        return rest;
    }

    // Runs under the key's lock: any temporary or moved-aside folder of this key belongs to a dead build.
    void DeleteLeftovers(string folder)
    {
        foreach (var dir in Directory.GetDirectories(Root))
            if (LeftoverOwner(Path.GetFileName(dir)) == folder) TryDelete(dir);
    }

    EngineManifest Build(EngineBuildRequest request, IEngineBackend backend, string key, EngineKeyParts parts,
        string entryDir, string folder, IProgress<string>? progress)
    {
        string temp = TempDirectory(folder);
        Directory.CreateDirectory(temp);
        try
        {
            progress?.Report($"building {request.Component} with {backend.Name} on {backend.Device} ({backend.BuiltPrecision(request.Options)})");
            var clock = Stopwatch.StartNew();
            // a graph written for this build (no OnnxPath) is the build's to take
            var written = request.OnnxPath is null
                ? backend.BuildTakingGraph(request.ResolveGraph(), temp, request.Options)
                : backend.Build(request.OnnxPath, temp, request.Options);
            double seconds = clock.Elapsed.TotalSeconds;
            if (written is null || written.Count == 0)
                throw new EngineException($"backend {backend.Name} built '{request.Component}' but reported no files");
            foreach (var f in written)
                if (!File.Exists(InsideEntry(temp, f)))
                    throw new EngineException($"backend {backend.Name} reported file '{f}' for '{request.Component}' but did not write it");

            var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
            foreach (var path in Directory.EnumerateFiles(temp, "*", SearchOption.AllDirectories))
            {
                string rel = Path.GetRelativePath(temp, path).Replace('\\', '/');
                if (rel is ManifestFileName or EngineVerificationStamp.FileName)
                    throw new EngineException($"backend {backend.Name} wrote {rel}, which the engine cache owns");
                files[rel] = FileDigest.Of(path);
            }
            var manifest = new EngineManifest
            {
                Key = key,
                Component = request.Component,
                KeyParts = parts,
                Inputs = request.Inputs,
                Outputs = request.Outputs,
                Files = files,
                EntryFile = written[0].Replace('\\', '/'),
                BuiltAt = DateTimeOffset.UtcNow,
                BuildSeconds = seconds,
            };
            using (var fs = new FileStream(Path.Combine(temp, ManifestFileName), FileMode.CreateNew, FileAccess.Write))
            {
                JsonSerializer.Serialize(fs, manifest, Json);
                fs.Flush(flushToDisk: true);
            }
            Directory.Move(temp, entryDir);
            progress?.Report($"built {request.Component} in {seconds:0.0} s → {entryDir}");
            return manifest;
        }
        catch (Exception e)
        {
            TryDelete(temp);
            if (e is EngineException or OperationCanceledException) throw;
            throw new EngineException($"building engine '{request.Component}' with backend {backend.Name} failed: {e.Message}", e);
        }
    }

    /// <summary>Loads the entry's engine; the entry's folder's write time records the load (its last use, which
    /// <see cref="EngineCacheInventory"/> reports and prunes by; a cache that cannot be written keeps the old time).</summary>
    static EngineCacheEntry Load(string entryDir, EngineManifest manifest, IEngineBackend backend, bool hit, IProgress<string>? progress, IDisposable? use)
    {
        if (hit) progress?.Report($"engine cache hit: {manifest.Component} ({entryDir})");
        try
        {
            var entry = new EngineCacheEntry(backend.Load(entryDir, manifest), hit, manifest, entryDir) { InUse = use };
            try { Directory.SetLastWriteTimeUtc(entryDir, DateTime.UtcNow); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
            return entry;
        }
        catch (Exception e)
        {
            use?.Dispose();
            if (e is EngineException) throw;
            throw new EngineException($"loading engine entry {entryDir} with backend {backend.Name} failed: {e.Message}", e);
        }
    }

    /// <summary>Null when the entry is complete and intact; otherwise what is wrong with it. Files the entry's
    /// verification stamp shows unchanged are not hashed (unless <see cref="VerifyAllFiles"/>); after hashing, the
    /// stamp is rewritten with what was verified.</summary>
    string? Check(string entryDir, string key, EngineKeyParts parts, IProgress<string>? progress, out EngineManifest? manifest)
    {
        manifest = ReadManifest(entryDir, out string? unreadable);
        if (manifest is null) return unreadable;
        if (manifest.Key != key) return $"{ManifestFileName} has key {manifest.Key}, expected {key}";
        if (manifest.KeyParts != parts) return $"{ManifestFileName} key parts differ from the request";
        if (manifest.Files is null || !manifest.Files.ContainsKey(manifest.EntryFile ?? ""))
            return $"{ManifestFileName} does not list its entry file '{manifest.EntryFile}'";

        EngineVerificationStamp? stamp = null;
        if (!VerifyAllFiles && (stamp = EngineVerificationStamp.Read(entryDir, key, out string? stampProblem)) is null && stampProblem is not null)
            progress?.Report($"engine cache: ignoring the verification stamp of {entryDir}: {stampProblem}; hashing every file");
        var verified = new SortedDictionary<string, EngineVerificationStamp.VerifiedFile>(StringComparer.Ordinal);
        int hashed = 0;
        foreach (var (rel, sha) in manifest.Files)
        {
            string file;
            try { file = InsideEntry(entryDir, rel); }
            catch (EngineException e) { return e.Message; }
            if (!File.Exists(file)) return $"file '{rel}' is missing";
            // the state is taken before hashing: a write during or after the hash changes it, so the stamp won't match
            var state = FileState.Of(file);
            if (stamp is not null && stamp.Files.TryGetValue(rel, out var seen) && seen.Matches(state, sha))
            {
                verified[rel] = seen;
                continue;
            }
            string actual = FileDigest.Of(file);
            hashed++;
            if (!string.Equals(actual, sha, StringComparison.OrdinalIgnoreCase))
                return $"file '{rel}' has SHA-256 {actual}, manifest says {sha}";
            verified[rel] = new(state.Size, state.LastWriteTicks, sha);
        }
        if (hashed > 0) RecordVerification(entryDir, key, verified, progress);
        return null;
    }

    /// <summary>An entry folder's manifest, or null with <paramref name="problem"/> saying why (missing, not valid JSON, empty).</summary>
    internal static EngineManifest? ReadManifest(string entryDir, out string? problem)
    {
        problem = null;
        string path = Path.Combine(entryDir, ManifestFileName);
        if (!File.Exists(path)) { problem = $"{ManifestFileName} is missing"; return null; }
        EngineManifest? manifest;
        try
        {
            using var fs = File.OpenRead(path);
            manifest = JsonSerializer.Deserialize<EngineManifest>(fs, Json);
        }
        catch (JsonException e) { problem = $"{ManifestFileName} is not a valid manifest ({e.Message})"; return null; }
        if (manifest is null) problem = $"{ManifestFileName} is empty";
        return manifest;
    }

    /// <summary>Writes the verification stamp with the files whose writes are settled; a file written moments ago is
    /// left out (hashed again next time). A read-only cache cannot take a stamp: it is hashed in full on every load.</summary>
    static void RecordVerification(string entryDir, string key, IDictionary<string, EngineVerificationStamp.VerifiedFile> verified, IProgress<string>? progress)
    {
        var now = DateTime.UtcNow;
        var settled = verified.Where(f => new FileState(f.Value.Size, f.Value.LastWriteTicks).IsSettled(now))
            .ToDictionary(f => f.Key, f => f.Value, StringComparer.Ordinal);
        if (settled.Count == 0) return;
        try { new EngineVerificationStamp { Key = key, Files = settled }.Write(entryDir); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            progress?.Report($"engine cache: could not record the verification stamp in {entryDir} ({e.Message}); the next load hashes every file again");
        }
    }

    static string InsideEntry(string entryDir, string relative)
    {
        string root = Path.GetFullPath(entryDir) + Path.DirectorySeparatorChar;
        string full = Path.GetFullPath(Path.Combine(entryDir, relative));
        return full.StartsWith(root, StringComparison.Ordinal) ? full
            : throw new EngineException($"file '{relative}' lies outside the entry folder {entryDir}");
    }

    /// <summary>Removes an entry (the caller holds its build and use locks): moved aside, then deleted.</summary>
    internal void Remove(string entryDir, string folder) => MoveAside(entryDir, folder);

    void MoveAside(string entryDir, string folder)
    {
        string trash = Path.Combine(Root, $"{TrashPrefix}{folder}-{Guid.NewGuid():N}");
        Directory.Move(entryDir, trash);
        TryDelete(trash); // what cannot be deleted now (a file still open elsewhere) is removed by a later clean
    }

    static bool TryDelete(string dir)
    {
        try { if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true); return true; }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return false; }
    }
}
