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
        var list = tensors.ToList();
        var header = new Dictionary<string, object>();
        if (metadata is { Count: > 0 }) header["__metadata__"] = metadata;
        long offset = 0;
        foreach (var t in list)
        {
            long expected = t.Shape.Aggregate(1L, (a, b) => a * b) * t.DType.SizeOf();
            if (expected != t.Bytes.Length)
                throw new ArgumentException($"tensor '{t.Name}': {t.Bytes.Length} bytes for shape [{string.Join(", ", t.Shape)}] of {t.DType} (expected {expected})");
            header[t.Name] = new { dtype = t.DType.SafeTensorsName(), shape = t.Shape, data_offsets = new[] { offset, offset + t.Bytes.Length } };
            offset += t.Bytes.Length;
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;
        string dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        string tmp = path + ".tmp-" + Environment.ProcessId;
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write))
        {
            Span<byte> len = stackalloc byte[8];
            BitConverter.TryWriteBytes(len, (ulong)(json.Length + pad));
            fs.Write(len);
            fs.Write(json);
            for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
            foreach (var t in list) fs.Write(t.Bytes.Span);
        }
        File.Move(tmp, path, overwrite: true);
    }
}
