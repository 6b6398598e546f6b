namespace VisualGen.Engines;

/// <summary>
/// An exclusive lock on one cache key: a lock file opened with <see cref="FileShare.None"/>. The
/// operating system releases it when its holder exits, so a killed build never leaves it held.
/// </summary>
sealed class EngineCacheLock : IDisposable
{
    readonly FileStream _stream;

    EngineCacheLock(FileStream stream) => _stream = stream;

    /// <summary>The lock, or null when another holder has it. Its folder is made when missing. A lock file that cannot be
    /// opened at all, or a folder that cannot be made (a read-only cache), is an <see cref="EngineException"/> saying why:
    /// waiting would never get it.</summary>
    public static EngineCacheLock? TryAcquire(string path)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            return new EngineCacheLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e) when (HeldElsewhere(e)) { return null; }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EngineException($"cannot take the engine cache lock {path}: {e.Message} (is the engine cache read-only? "
                + "its built engines load, a missing one cannot be built there)", e);
        }
    }

    // the lock is held by another open file: EWOULDBLOCK from flock on Linux (11) and macOS (35), a sharing or lock
    // violation on Windows
    static bool HeldElsewhere(IOException e) =>
        e.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    public static EngineCacheLock Acquire(string path, TimeSpan timeout, Action onWait, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        bool reported = false;
        while (true)
        {
            if (TryAcquire(path) is { } held) return held;
            cancellation.ThrowIfCancellationRequested();
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
