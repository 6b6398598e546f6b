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
        try { use(new ReadOnlySpan<byte>(p + view.PointerOffset, (int)Length)); }
        finally { view.SafeMemoryMappedViewHandle.ReleasePointer(); }
    }

    /// <summary>The range's bytes in a new array.</summary>
    public byte[] ReadAll()
    {
        byte[] result = [];
        WithMapped(b => result = b.ToArray());
        return result;
    }
}
