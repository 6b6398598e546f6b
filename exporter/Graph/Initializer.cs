using System.Runtime.InteropServices;
using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Exporter.Graph;

/// <summary>A constant of the graph (weights, tables). Its bytes are produced only when the graph is written, so
/// checkpoint weights stream from the memory-mapped file to the ONNX file without a second copy in memory.</summary>
public sealed class Initializer(GraphValue value, long[] shape, IInitializerData data)
{
    public GraphValue Value { get; } = value;
    public long[] Shape { get; } = shape;
    public IInitializerData Data { get; } = data;
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => ElementCount * Value.DType.SizeOf();
}

/// <summary>Produces an initializer's bytes (in the initializer's dtype, little-endian), chunk by chunk.</summary>
public interface IInitializerData
{
    /// <summary>A description that identifies the content (for graph hashing without reading weights).</summary>
    string Identity { get; }

    /// <summary>Writes the bytes to <paramref name="sink"/>.</summary>
    void WriteTo(Stream sink);
}

/// <summary>Small constants built by the exporter (tables, shapes, scalars).</summary>
public sealed class InlineData(byte[] bytes) : IInitializerData
{
    public byte[] Bytes { get; } = bytes;
    public string Identity { get; } = "inline:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes))[..16];
    public void WriteTo(Stream sink) => sink.Write(Bytes);

    public static InlineData Of(ReadOnlySpan<float> v) => new(MemoryMarshal.AsBytes(v).ToArray());
    public static InlineData Of(ReadOnlySpan<long> v) => new(MemoryMarshal.AsBytes(v).ToArray());
}

/// <summary>A checkpoint tensor converted to float32, optionally transposed ([out, in] → [in, out] for MatMul).</summary>
public sealed class CheckpointData(ITensorSource source, string tensorName, bool transpose2d) : IInitializerData
{
    public string Identity { get; } = $"ckpt:{tensorName}:{source.Info(tensorName).DType}:{source.Info(tensorName).ShapeText}{(transpose2d ? ":T" : "")}";

    public void WriteTo(Stream sink)
    {
        var info = source.Info(tensorName);
        if (!transpose2d && info.DType == TensorDType.F32)
        {
            sink.Write(source.GetBytes(tensorName));
            return;
        }
        if (!transpose2d)
        {
            // convert in chunks so a large tensor never exists twice in memory
            const int chunk = 1 << 20;
            var bytes = source.GetBytes(tensorName);
            int es = info.DType.SizeOf();
            var buf = new float[chunk];
            for (long off = 0; off < info.ElementCount; off += chunk)
            {
                int n = (int)Math.Min(chunk, info.ElementCount - off);
                ElementConvert.ToFloat32(bytes.Slice((int)(off * es), n * es), info.DType, buf.AsSpan(0, n));
                sink.Write(MemoryMarshal.AsBytes(buf.AsSpan(0, n)));
            }
            return;
        }
        long rows = info.Shape[0], cols = info.Shape[1];
        var src = ElementConvert.ToFloat32(source.GetBytes(tensorName), info.DType, info.ElementCount);
        var row = new float[rows];
        for (long c = 0; c < cols; c++)
        {
            for (long r = 0; r < rows; r++) row[r] = src[r * cols + c];
            sink.Write(MemoryMarshal.AsBytes(row.AsSpan()));
        }
    }
}
