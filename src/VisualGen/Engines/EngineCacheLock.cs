namespace VisualGen.Engines;

/// <summary>
/// An exclusive lock on one cache key: a lock file opened with <see cref="FileShare.None"/>. The
/// operating system releases it when its holder exits, so a killed build never leaves it held.
/// </summary>
sealed class EngineCacheLock : IDisposable
{
    readonly FileStream _stream;

    EngineCacheLock(FileStream stream) => _stream = stream;

    public static EngineCacheLock? TryAcquire(string path)
    {
        try { return new EngineCacheLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None)); }
        catch (IOException) { return null; }
    }

    public static EngineCacheLock Acquire(string path, TimeSpan timeout, Action onWait)
    {
        var deadline = DateTime.UtcNow + timeout;
        bool reported = false;
        while (true)
        {
            if (TryAcquire(path) is { } held) return held;
            if (!reported) { onWait(); reported = true; }
            if (DateTime.UtcNow >= deadline)
                throw new EngineException($"timed out after {timeout.TotalSeconds:0} s waiting for the engine cache lock {path}: "
                    + "another process is still building this engine; wait for it, or raise the lock timeout");
            Thread.Sleep(100);
        }
    }

    // The lock file stays: deleting it would let a third process lock a new file while a waiter holds the old one.
    public void Dispose() => _stream.Dispose();
}
