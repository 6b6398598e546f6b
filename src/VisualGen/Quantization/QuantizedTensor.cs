using System.Runtime.InteropServices;
using VisualGen.Checkpoints;

namespace VisualGen.Quantization;

/// <summary>
/// What a scheme makes of one tensor: named parts (codes, scales, the dequantized values), each written as
/// <c>{tensor}.{scheme}.{part}</c>, e.g. <c>w1.fp8.q</c>, <c>w1.nvfp4.block_scale</c>.
/// </summary>
public sealed class QuantizedTensor(string source, string scheme)
{
    readonly List<(string Part, TensorData Data)> _parts = [];

    public string Source { get; } = source;
    public string Scheme { get; } = scheme;

    /// <summary>The parts under their full names, in the order the scheme added them.</summary>
    public IEnumerable<TensorData> Tensors => _parts.Select(p => p.Data);

    public IEnumerable<string> PartNames => _parts.Select(p => p.Part);

    public QuantizedTensor AddBytes(string part, long[] shape, byte[] bytes) => Add(part, new TensorData(NameOf(part), TensorDType.U8, shape, bytes));

    public QuantizedTensor AddFloat32(string part, long[] shape, float[] values) => Add(part, TensorData.Float32(NameOf(part), shape, values));

    /// <summary>A part's bytes (U8 parts: codes, packed nibbles, e4m3 scales).</summary>
    public byte[] Bytes(string part) => Find(part).Bytes.ToArray();

    /// <summary>A float32 part's values (scales, dequantized tensors).</summary>
    public float[] Floats(string part)
    {
        var data = Find(part);
        if (data.DType != TensorDType.F32) throw new InvalidOperationException($"{data.Name} is {data.DType}, not F32");
        return MemoryMarshal.Cast<byte, float>(data.Bytes.Span).ToArray();
    }

    public long[] Shape(string part) => Find(part).Shape;

    string NameOf(string part) => $"{Source}.{Scheme}.{part}";

    QuantizedTensor Add(string part, TensorData data)
    {
        if (_parts.Any(p => p.Part == part)) throw new InvalidOperationException($"{data.Name} added twice");
        _parts.Add((part, data));
        return this;
    }

    TensorData Find(string part) =>
        _parts.FirstOrDefault(p => p.Part == part).Data
        ?? throw new KeyNotFoundException($"{Scheme} has no part '{part}' (parts: {string.Join(", ", PartNames)})");
}
