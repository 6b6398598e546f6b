using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace VisualGen.Bench.ExportMemory;

/// <summary>Writes a bf16 safetensors file tensor by tensor: the header is computed from the shapes first, then each
/// tensor's values are generated and written in 1 M-element chunks, so the process never holds a whole tensor.</summary>
static class StreamingCheckpointWriter
{
    const int Chunk = 1 << 20;

    public static long Write(string path, IReadOnlyList<(string Name, long[] Shape, long FanIn)> tensors, ulong seed)
    {
        var header = new Dictionary<string, object>();
        long offset = 0;
        foreach (var (name, shape, _) in tensors)
        {
            long bytes = shape.Aggregate(1L, (a, b) => a * b) * 2;
            header[name] = new { dtype = "BF16", shape, data_offsets = new[] { offset, offset + bytes } };
            offset += bytes;
        }
        byte[] json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        int pad = (8 - json.Length % 8) % 8;

        var rng = new XorShift(seed);
        var buf = new ushort[Chunk];
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        fs.Write(BitConverter.GetBytes((ulong)(json.Length + pad)));
        fs.Write(json);
        for (int i = 0; i < pad; i++) fs.WriteByte((byte)' ');
        foreach (var (_, shape, fanIn) in tensors)
        {
            long count = shape.Aggregate(1L, (a, b) => a * b);
            // uniform ±1/sqrt(fan_in) for weights and biases, 1 ± 0.1 for norm weights (fan-in 0)
            float center = fanIn == 0 ? 1f : 0f, spread = fanIn == 0 ? 0.1f : 1f / MathF.Sqrt(fanIn);
            for (long done = 0; done < count; done += Chunk)
            {
                int n = (int)Math.Min(Chunk, count - done);
                for (int i = 0; i < n; i++)
                    buf[i] = (ushort)(BitConverter.SingleToUInt32Bits(center + spread * rng.NextSigned()) >> 16);
                fs.Write(MemoryMarshal.AsBytes(buf.AsSpan(0, n)));
            }
        }
        return fs.Position;
    }

    /// <summary>xorshift64*: fast and good enough for weights that only need to be finite and O(1/sqrt(fan_in)).</summary>
    struct XorShift(ulong seed)
    {
        ulong _s = seed == 0 ? 0x9E3779B97F4A7C15UL : seed;

        /// <summary>A value in [-1, 1).</summary>
        public float NextSigned()
        {
            _s ^= _s >> 12; _s ^= _s << 25; _s ^= _s >> 27;
            ulong r = _s * 0x2545F4914F6CDD1DUL;
            return (r >> 40) * (2f / (1 << 24)) - 1f;
        }
    }
}
