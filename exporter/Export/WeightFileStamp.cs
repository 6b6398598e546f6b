using System.Runtime.InteropServices;

namespace VisualGen.Exporter.Export;

/// <summary>
/// What a weight file's metadata says about its content, for <see cref="WeightHashMemo"/>: its size, last write time,
/// inode change time and identity (device, inode), read with Linux's <c>statx</c>. The change time is what lets a memo
/// stand for the bytes: a write moves it, and so does setting the write time back (<c>touch -r</c>, which
/// <see cref="VisualGen.Engines.FileState"/> cannot see), and no call sets it to a chosen value. Other platforms give
/// no change time through .NET; there <see cref="Of"/> returns null and weights are hashed on every run.
/// </summary>
public readonly record struct WeightFileStamp(long Size, long LastWriteTicks, long ChangeTicks, ulong Device, ulong Inode)
{
    /// <summary>The stamp of <paramref name="path"/> (links followed); null where the platform or file system gives no
    /// change time. A file that cannot be examined is an <see cref="IOException"/> naming it.</summary>
    public static WeightFileStamp? Of(string path)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try { return Statx(path); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { return null; } // libc without statx (glibc < 2.28)
    }

    /// <summary>Whether both the write and the change are at least <see cref="VisualGen.Engines.FileState.SettleTime"/>
    /// older than <paramref name="nowUtc"/>: a second write within a coarse file-system clock tick could keep both times.</summary>
    public bool IsSettled(DateTime nowUtc) =>
        nowUtc.Ticks - Math.Max(LastWriteTicks, ChangeTicks) >= VisualGen.Engines.FileState.SettleTime.Ticks;

    const int AtFdCwd = -100, EPERM = 1, ENOSYS = 38;
    const uint StatxMtime = 0x40, StatxCtime = 0x80, StatxIno = 0x100, StatxSize = 0x200;
    const uint Needed = StatxMtime | StatxCtime | StatxIno | StatxSize;

    // struct statx has the same layout on every Linux architecture (linux/stat.h): 256 bytes.
    const int StatxBytes = 256, MaskAt = 0, InoAt = 32, SizeAt = 40, CtimeAt = 96, MtimeAt = 112, DevMajorAt = 136, DevMinorAt = 140;

    [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    static extern unsafe int NativeStatx(int dirfd, byte* pathname, int flags, uint mask, byte* buffer);

    static unsafe WeightFileStamp? Statx(string path)
    {
        int n = System.Text.Encoding.UTF8.GetByteCount(path);
        var name = new byte[n + 1];
        System.Text.Encoding.UTF8.GetBytes(path, name);
        var buf = new byte[StatxBytes];
        fixed (byte* p = name)
        fixed (byte* b = buf)
        {
            if (NativeStatx(AtFdCwd, p, 0, Needed, b) != 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno is ENOSYS or EPERM) return null; // a kernel without statx, or a sandbox (seccomp) that refuses it
                throw new IOException($"cannot examine weight file {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
            var s = new ReadOnlySpan<byte>(b, StatxBytes);
            if ((Read<uint>(s, MaskAt) & Needed) != Needed) return null;
            return new WeightFileStamp(
                (long)Read<ulong>(s, SizeAt), Ticks(s, MtimeAt), Ticks(s, CtimeAt),
                ((ulong)Read<uint>(s, DevMajorAt) << 32) | Read<uint>(s, DevMinorAt), Read<ulong>(s, InoAt));
        }
    }

    static T Read<T>(ReadOnlySpan<byte> s, int at) where T : unmanaged => MemoryMarshal.Read<T>(s[at..]);

    // struct statx_timestamp { __s64 tv_sec; __u32 tv_nsec; __s32 reserved; }
    static long Ticks(ReadOnlySpan<byte> s, int at) =>
        DateTime.UnixEpoch.Ticks + Read<long>(s, at) * TimeSpan.TicksPerSecond + Read<uint>(s, at + 8) / 100;
}
