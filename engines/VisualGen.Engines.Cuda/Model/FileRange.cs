using System.IO.MemoryMappedFiles;

namespace VisualGen.Engines.Cuda.Model;

/// <summary>Bytes <paramref name="Offset"/>..<paramref name="Offset"/>+<paramref name="Length"/> of the file at
/// <paramref name="Path"/>, read through a memory map: the pages come from the page cache, with no FileStream buffer and
/// no copy beyond what the caller makes.</summary>
public sealed record FileRange(string Path, long Offset, long Length)
{
    public delegate void SpanAction(ReadOnlySpan<byte> bytes);

    /// <summary>Maps the range read-only and hands it to <paramref name="use"/> (the span is valid only during the call).</summary>
    public unsafe void WithMapped(SpanAction use)
    {
        if (Length > int.MaxValue) throw new EngineException($"'{Path}': a constant of {Length} bytes at offset {Offset} is over the 2 GB one span can hold");
        if (Length == 0) { use([]); return; }
        if (!File.Exists(Path)) throw new EngineException($"weights file '{Path}' not found");
        using var map = MemoryMappedFile.CreateFromFile(Path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = map.CreateViewAccessor(Offset, Length, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        try
        {
            Prefault(p, view.PointerOffset + Length);
            use(new ReadOnlySpan<byte>(p + view.PointerOffset, (int)Length));
        }
        finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }

    /// <summary>Ranges at least this large are prefaulted before use.</summary>
    const long PrefaultBytes = 1 << 20;

    /// <summary>Linux: populates the mapping's page tables in one call (MADV_POPULATE_READ, kernel 5.14+; else
    /// MADV_WILLNEED, asynchronous readahead), instead of one fault per 4 KiB page while the bytes are copied (a 9.5 GB
    /// text encoder is 2.3 M pages). Advice only: failures are ignored.</summary>
    static unsafe void Prefault(byte* mappingStart, long bytes)
    {
        if (!OperatingSystem.IsLinux() || bytes < PrefaultBytes) return;
        try
        {
            if (Madvise((nint)mappingStart, (nuint)bytes, MadvPopulateRead) != 0) Madvise((nint)mappingStart, (nuint)bytes, MadvWillNeed);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }

    const int MadvWillNeed = 3, MadvPopulateRead = 22;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "madvise", SetLastError = true)]
    static extern int Madvise(nint address, nuint length, int advice);

    /// <summary>The range's bytes in a new array.</summary>
    public byte[] ReadAll()
    {
        byte[] result = [];
        WithMapped(b => result = b.ToArray());
        return result;
    }
}
