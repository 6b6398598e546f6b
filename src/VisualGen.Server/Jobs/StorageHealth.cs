using VisualGen.Server.Api;

namespace VisualGen.Server.Jobs;

/// <summary>
/// Whether the data folder takes writes, for /health: each of its folders takes a small probe file (written, flushed
/// and deleted on every check), and no real write has failed in the last minute (a full disk may still take a
/// probe's byte but not a video).
/// </summary>
public sealed class StorageHealth(IReadOnlyList<string> folders, TimeProvider clock)
{
    static readonly TimeSpan FailureReported = TimeSpan.FromMinutes(1);

    readonly Lock _lock = new();
    (string Reason, DateTimeOffset At)? _lastFailure;

    public void Failed(StorageException e)
    {
        lock (_lock) _lastFailure = (e.Message, clock.GetUtcNow());
    }

    public void Succeeded()
    {
        lock (_lock) _lastFailure = null;
    }

    /// <summary>Null when the data folder takes writes, else why not (no full paths: /health needs no key).</summary>
    public string? Problem()
    {
        foreach (var folder in folders)
            if (Probe(folder) is { } problem) return problem;
        lock (_lock)
            return _lastFailure is { } f && clock.GetUtcNow() - f.At < FailureReported ? f.Reason : null;
    }

    /// <summary>The folders a server writes: jobs/ in the data folder (unless a shared store keeps the jobs), videos/,
    /// inputs/ and images/ in the outputs folder (the data folder unless --outputs).</summary>
    public static StorageHealth For(Hosting.ServerOptions options, TimeProvider clock)
    {
        string outputs = options.OutputsDir ?? options.DataDir;
        var folders = new List<string>();
        if (options.Store is null) folders.Add(Path.Combine(options.DataDir, "jobs"));
        folders.AddRange(new[] { "videos", "inputs", "images" }.Select(f => Path.Combine(outputs, f)));
        return new StorageHealth(folders, clock);
    }

    /// <summary>Writes, flushes and deletes a one-byte file in <paramref name="folder"/>: null when it can, else why not (no full path).</summary>
    public static string? Probe(string folder)
    {
        string probe = Path.Combine(folder, $".probe-{Guid.NewGuid():N}.tmp"); // *.tmp: removed at the next start if left
        try
        {
            using (var fs = new FileStream(probe, FileMode.CreateNew, FileAccess.Write))
            {
                fs.WriteByte(0);
                fs.Flush(flushToDisk: true);
            }
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (StorageException.IsStorageFault(e))
        {
            return $"the data folder's '{Path.GetFileName(folder)}' folder does not take writes: {ClientText.WithoutPaths(e.Message)}";
        }
    }
}
