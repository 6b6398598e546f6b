using System.IO.MemoryMappedFiles;
using System.Text.Json;
using VisualGen.Tensors;

namespace VisualGen.Checkpoints;

/// <summary>
/// A memory-mapped safetensors file. The header is parsed and validated on open; tensor bytes are
/// never read whole: <see cref="GetBytes"/> returns a span over the mapping.
/// </summary>
public sealed unsafe class SafeTensorsFile : ITensorSource
{
    const long MaxHeaderBytes = 100L << 20;

    readonly MemoryMappedFile? _map;
    readonly MemoryMappedViewAccessor? _view;
    readonly byte* _base;
    readonly long _dataStart;
    readonly Dictionary<string, TensorInfo> _tensors;

    public string Path { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    public IReadOnlyCollection<TensorInfo> Tensors => _tensors.Values;

    SafeTensorsFile(string path, MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* basePtr,
        long dataStart, Dictionary<string, TensorInfo> tensors, Dictionary<string, string> metadata)
    {
        Path = path; _map = map; _view = view; _base = basePtr; _dataStart = dataStart; _tensors = tensors; Metadata = metadata;
    }

    public static SafeTensorsFile Open(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        long length = Engines.FileState.Target(path).Length;  // a link's own length is its target path's
        if (length < 8) throw new CheckpointException(path, $"truncated: {length} bytes, shorter than the 8-byte header length");
        MemoryMappedFile map = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        MemoryMappedViewAccessor view = map.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        try
        {
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
            p += view.PointerOffset;
            ulong headerLen = *(ulong*)p;
            if (headerLen > (ulong)(length - 8))
                throw new CheckpointException(path, $"header length {headerLen} runs past the end of the file ({length} bytes): truncated or not a safetensors file");
            if (headerLen > MaxHeaderBytes) throw new CheckpointException(path, $"header length {headerLen} exceeds {MaxHeaderBytes} bytes");
            var headerSpan = new ReadOnlySpan<byte>(p + 8, (int)headerLen);
            long dataStart = 8 + (long)headerLen;
            var (tensors, metadata) = ParseHeader(path, headerSpan, length - dataStart);
            return new SafeTensorsFile(path, map, view, p, dataStart, tensors, metadata);
        }
        catch
        {
            if (p != null) view.SafeMemoryMappedViewHandle.ReleasePointer();
            view.Dispose(); map.Dispose();
            throw;
        }
    }

    static (Dictionary<string, TensorInfo>, Dictionary<string, string>) ParseHeader(string path, ReadOnlySpan<byte> header, long dataLength)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header.ToArray()); }
        catch (JsonException e) { throw new CheckpointException(path, $"header is not valid JSON ({e.Message})", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointException(path, "header must be a JSON object of tensor entries");
            var tensors = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>();
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, "__metadata__ must be an object of strings");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                tensors[prop.Name] = ParseEntry(path, prop.Name, prop.Value, dataLength);
            }
            CheckNoOverlap(path, tensors.Values);
            return (tensors, metadata);
        }
    }

    static TensorInfo ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object) throw new CheckpointException(path, $"tensor '{name}': entry must be an object");
        if (!e.TryGetProperty("dtype", out var dt) || dt.ValueKind != JsonValueKind.String)
            throw new CheckpointException(path, $"tensor '{name}': missing string 'dtype'");
        if (!TensorDTypes.TryParseSafeTensors(dt.GetString()!, out var dtype))
            throw new CheckpointException(path, $"tensor '{name}': unknown dtype '{dt.GetString()}'");
        if (!e.TryGetProperty("shape", out var sh) || sh.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(path, $"tensor '{name}': missing array 'shape'");
        var shape = new long[sh.GetArrayLength()];
        int i = 0;
        foreach (var d in sh.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long v) || v < 0)
                throw new CheckpointException(path, $"tensor '{name}': shape entries must be non-negative integers");
            shape[i++] = v;
        }
        if (!e.TryGetProperty("data_offsets", out var off) || off.ValueKind != JsonValueKind.Array || off.GetArrayLength() != 2)
            throw new CheckpointException(path, $"tensor '{name}': 'data_offsets' must be [begin, end]");
        long begin = off[0].ValueKind == JsonValueKind.Number && off[0].TryGetInt64(out var b) ? b : -1;
        long end = off[1].ValueKind == JsonValueKind.Number && off[1].TryGetInt64(out var en) ? en : -1;
        if (begin < 0 || end < begin)
            throw new CheckpointException(path, $"tensor '{name}': invalid data_offsets [{off[0].GetRawText()}, {off[1].GetRawText()}]");
        if (end > dataLength)
            throw new CheckpointException(path, $"tensor '{name}': data_offsets [{begin}, {end}] out of range: data section has {dataLength} bytes (file truncated?)");
        var info = new TensorInfo(name, dtype, shape, begin, end);
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, d) => a * d) * dtype.SizeOf()); }
        catch (OverflowException) { throw new CheckpointException(path, $"tensor '{name}': shape {info.ShapeText} overflows a 64-bit byte count"); }
        if (expected != end - begin)
            throw new CheckpointException(path, $"tensor '{name}': {end - begin} bytes for shape {info.ShapeText} of {dtype.SafeTensorsName()} (expected {expected})");
        return info;
    }

    static void CheckNoOverlap(string path, IEnumerable<TensorInfo> tensors)
    {
        TensorInfo? prev = null;
        foreach (var t in tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.Begin))
        {
            if (prev is not null && t.Begin < prev.End)
                throw new CheckpointException(path, $"tensors '{prev.Name}' and '{t.Name}' overlap (bytes {prev.Begin}-{prev.End} and {t.Begin}-{t.End})");
            prev = t;
        }
    }

    public bool Contains(string name) => _tensors.ContainsKey(name);

    public TensorInfo Info(string name) =>
        _tensors.TryGetValue(name, out var t) ? t : throw new CheckpointException(Path, $"no tensor named '{name}'");

    public bool TryGetInfo(string name, out TensorInfo info) => _tensors.TryGetValue(name, out info!);

    public IEnumerable<string> Names => _tensors.Keys;

    /// <summary>The raw little-endian bytes of a tensor, straight from the mapping.</summary>
    public ReadOnlySpan<byte> GetBytes(string name)
    {
        var t = Info(name);
        if (t.ByteLength > int.MaxValue)
            throw new CheckpointException(Path, $"tensor '{name}' has {t.ByteLength} bytes, over the 2 GB a span can hold: use GetPointer");
        return new ReadOnlySpan<byte>(_base + _dataStart + t.Begin, (int)t.ByteLength);
    }

    public bool TryLocate(string name, out TensorLocation location)
    {
        if (!_tensors.TryGetValue(name, out var t)) { location = default; return false; }
        location = new TensorLocation(System.IO.Path.GetFullPath(Path), _dataStart + t.Begin, t.ByteLength);
        return true;
    }

    /// <summary>A pointer to a tensor's bytes (valid while this file is open); for tensors over 2 GB.</summary>
    public byte* GetPointer(string name) => _base + _dataStart + Info(name).Begin;

    public float[] ReadFloat32(string name)
    {
        var t = Info(name);
        return ElementConvert.ToFloat32(GetBytes(name), t.DType, t.ElementCount);
    }

    public long[] ReadInt64(string name)
    {
        var t = Info(name);
        return ElementConvert.ToInt64(GetBytes(name), t.DType, t.ElementCount, Path, name);
    }

    public void Dispose()
    {
        if (_view is not null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
        }
        _map?.Dispose();
    }
}
