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

/// <summary>A checkpoint tensor converted to float32, optionally transposed ([out, in] → [in, out] for MatMul).
/// Streams from the memory-mapped checkpoint: at most <see cref="ChunkElements"/> converted floats are held at a time,
/// never a whole tensor.</summary>
public sealed class CheckpointData(ITensorSource source, string tensorName, bool transpose2d) : IInitializerData
{
    /// <summary>The most float32 values held while converting (4 MB).</summary>
    public const int ChunkElements = 1 << 20;

    public string Identity { get; } = $"ckpt:{tensorName}:{source.Info(tensorName).DType}:{source.Info(tensorName).ShapeText}{(transpose2d ? ":T" : "")}";

    public void WriteTo(Stream sink)
    {
        var info = source.Info(tensorName);
        var bytes = source.GetBytes(tensorName);
        int es = info.DType.SizeOf();
        if (!transpose2d && info.DType == TensorDType.F32)
        {
            sink.Write(bytes);
            return;
        }
        if (!transpose2d)
        {
            var buf = new float[(int)Math.Min(ChunkElements, info.ElementCount)];
            for (long off = 0; off < info.ElementCount; off += buf.Length)
            {
                int n = (int)Math.Min(buf.Length, info.ElementCount - off);
                ElementConvert.ToFloat32(bytes.Slice((int)(off * es), n * es), info.DType, buf.AsSpan(0, n));
                sink.Write(MemoryMarshal.AsBytes(buf.AsSpan(0, n)));
            }
            return;
        }
        // [rows, cols] → [cols, rows], a band of output rows (source columns) at a time: each source row's slice of
        // the band is converted and scattered into the band, so only the band is ever held in float32
        long rows = info.Shape[0], cols = info.Shape[1];
        int band = (int)Math.Clamp(ChunkElements / Math.Max(rows, 1), 1, Math.Max(cols, 1));
        var outBuf = new float[band * rows];
        var rowBuf = new float[band];
        for (long c0 = 0; c0 < cols; c0 += band)
        {
            int nc = (int)Math.Min(band, cols - c0);
            for (long r = 0; r < rows; r++)
            {
                ElementConvert.ToFloat32(bytes.Slice((int)((r * cols + c0) * es), nc * es), info.DType, rowBuf.AsSpan(0, nc));
                for (int j = 0; j < nc; j++) outBuf[j * rows + r] = rowBuf[j];
            }
            sink.Write(MemoryMarshal.AsBytes(outBuf.AsSpan(0, (int)(nc * rows))));
        }
    }
}

/// <summary>A checkpoint tensor in its own dtype (bf16, fp16), optionally transposed ([out, in] → [in, out]): what the
/// exporter writes for 16-bit checkpoints, so the graph is half the size of a float32 export and every consumer sees
/// the checkpoint's exact values (the graph casts to float32 where it computes). Transposes a band of rows at a time.</summary>
public sealed class CheckpointRawData(ITensorSource source, string tensorName, bool transpose2d) : IInitializerData, ICheckpointStoredData
{
    /// <summary>Elements transposed per band (16 M: 32 MB of bf16), tiles of a band in parallel.</summary>
    const long BandElements = 1L << 24;

    public string Identity { get; } = $"ckpt-raw:{tensorName}:{source.Info(tensorName).DType}:{source.Info(tensorName).ShapeText}{(transpose2d ? ":T" : "")}";

    public bool Transposed => transpose2d;

    public bool TryLocate(out TensorLocation location) => source.TryLocate(tensorName, out location);

    public unsafe void WriteTo(Stream sink)
    {
        var info = source.Info(tensorName);
        var bytes = source.GetBytes(tensorName);
        if (!transpose2d) { sink.Write(bytes); return; }
        int es = info.DType.SizeOf();
        long rows = info.Shape[0], cols = info.Shape[1];
        int band = (int)Math.Clamp(BandElements / Math.Max(rows, 1), 1, Math.Max(cols, 1));
        var outBuf = new byte[band * rows * es];
        fixed (byte* src = bytes)
        fixed (byte* dst = outBuf)
            for (long c0 = 0; c0 < cols; c0 += band)
            {
                int nc = (int)Math.Min(band, cols - c0);
                // source rows' columns [c0, c0 + nc) → output rows c0.. (each of `rows` elements)
                Transpose2d.Run(src + c0 * es, cols, dst, rows, nc, es);
                sink.Write(outBuf.AsSpan(0, (int)(nc * rows * es)));
            }
    }
}

/// <summary>Initializer data that is a checkpoint tensor's stored bytes, as they are or transposed ([rows, cols] →
/// [cols, rows], same dtype): what lets a backend reference the checkpoint file instead of a copy
/// (<see cref="Onnx.OnnxWriter"/> records it in the model metadata <c>GraphMetadata.CheckpointTensors</c>).</summary>
public interface ICheckpointStoredData
{
    /// <summary>Whether the initializer is the 2-D transpose of the stored tensor.</summary>
    bool Transposed { get; }

    /// <summary>The stored tensor's bytes on disk; false when the source is not a file.</summary>
    bool TryLocate(out TensorLocation location);
}
