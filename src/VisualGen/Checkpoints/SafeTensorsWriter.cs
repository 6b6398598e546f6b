using System.Text;
using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>One tensor to write: its bytes must already be in <see cref="DType"/>'s little-endian layout.</summary>
public sealed record TensorData(string Name, TensorDType DType, long[] Shape, ReadOnlyMemory<byte> Bytes)
{
    public static TensorData Float32(string name, long[] shape, float[] values) =>
        new(name, TensorDType.F32, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());

    public static TensorData Int64(string name, long[] shape, long[] values) =>
        new(name, TensorDType.I64, shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray());
}

/// <summary>Writes safetensors files (tests make their own checkpoints; the CLI saves tensors). Written to a temporary file and renamed.</summary>
public static class SafeTensorsWriter
{
    public static void Write(string path, IEnumerable<TensorData> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var writer = new SafeTensorsStreamWriter(path);
        foreach (var t in tensors) writer.Add(t);
        writer.Commit(metadata);
    }
}

/// <summary>
/// A safetensors file written one tensor at a time, so that only the tensor being added is in memory (a quantized copy
/// of a 14B transformer would otherwise hold every tensor until the header can be written): each tensor's bytes go to a
/// data file beside the target as they come; <see cref="Commit"/> writes the header and then the data as a temporary
/// file renamed over the target. Disposed without a commit, it leaves nothing behind.
/// </summary>
public sealed class SafeTensorsStreamWriter : IDisposable
{
    readonly string _path, _data;
    readonly FileStream _dataStream;
    readonly List<(string Name, TensorDType DType, long[] Shape, long Begin, long End)> _entries = [];
    readonly HashSet<string> _names = new(StringComparer.Ordinal);
    bool _done;

    public SafeTensorsStreamWriter(string path)
    {
        _path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(_path)!);
        _data = Media.WritableLocation.TempBeside(_path, $".data-{Environment.ProcessId}");
        _dataStream = new FileStream(_data, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 20);
    }

    /// <summary>The bytes of tensor data added so far.</summary>
    public long DataBytes => _dataStream.Length;

    public void Add(TensorData t)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        long expected = t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf();
        if (expected != t.Bytes.Length)
            throw new ArgumentException($"tensor '{t.Name}': {t.Bytes.Length} bytes for shape [{string.Join(", ", t.Shape)}] of {t.DType} (expected {expected})");
        if (!_names.Add(t.Name)) throw new ArgumentException($"tensor '{t.Name}' is added twice");
        long begin = _dataStream.Position;
        _dataStream.Write(t.Bytes.Span);
        _entries.Add((t.Name, t.DType, t.Shape, begin, _dataStream.Position));
    }

    public void Commit(IReadOnlyDictionary<string, string>? metadata = null)
    {
        ObjectDisposedException.ThrowIf(_done, this);
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        foreach (var e in _entries)
            header[e.Name] = new { dtype = e.DType.SafeTensorsName(), shape = e.Shape, data_offsets = new[] { e.Begin, e.End } };
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        string tmp = Media.WritableLocation.TempBeside(_path, $".tmp-{Environment.ProcessId}");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Span<byte> len = stackalloc byte[8];
                BitConverter.TryWriteBytes(len, (ulong)(json.Length + pad));
                fs.Write(len);
                fs.Write(json);
                for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
                _dataStream.Position = 0;
                _dataStream.CopyTo(fs, 1 << 20);
            }
            File.Move(tmp, _path, overwrite: true);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        finally { Dispose(); }
    }

    public void Dispose()
    {
        if (_done) return;
        _done = true;
        _dataStream.Dispose();
        File.Delete(_data);
    }
}
