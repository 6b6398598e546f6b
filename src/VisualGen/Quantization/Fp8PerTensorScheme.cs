using System.Numerics;
using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Quantization;

/// <summary>
/// <c>fp8</c>: FP8 E4M3 with one scale for the whole tensor (ModelOpt <c>FP8</c>). s = <see cref="Fp8WeightScale"/>
/// of the tensor's amax; q = e4m3(x · (1/s)), the reciprocal and the product each rounded to float32; dequant = q·s.
/// Parts: <c>q</c> (U8 e4m3 codes, the tensor's shape), <c>scale</c> (F32 scalar), <c>dequant</c> (F32). Any rank.
/// </summary>
public sealed class Fp8PerTensorScheme : IQuantizationScheme
{
    public string Name => "fp8";

    public string Summary => "FP8 E4M3, one scale per tensor: q, scale, dequant";

    public QuantizedTensor Quantize(SourceTensor tensor)
    {
        var x = tensor.Values;
        float scale = Fp8WeightScale.For(ParallelRanges.AbsMax(x), tensor);
        float inverse = 1f / scale;
        var q = new byte[x.Length];
        var dequant = new float[q.Length];
        ParallelRanges.For(q.Length, 1 << 16, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                q[i] = E4M3.Encode(x[i] * inverse);
                dequant[i] = E4M3.Decode(q[i]) * scale;
            }
        });
        return new QuantizedTensor(tensor.Name, Name)
            .AddBytes("q", tensor.Shape, q)
            .AddFloat32("scale", [], [scale])
            .AddFloat32("dequant", tensor.Shape, dequant);
    }

    /// <summary>
    /// The codes and scale of a BF16 or F16 tensor from its stored bytes, the same bytes <see cref="Quantize"/> makes of
    /// the widened values, without widening it or making the dequant (what an engine build needs, for billions of
    /// weights): the amax from the 16-bit magnitudes (|x| orders as the bits below the sign), and the codes by a table
    /// of all 65536 inputs, each entry <see cref="E4M3.Encode"/> of (value · (1/s)) as <see cref="Quantize"/> computes
    /// it. A NaN or ±∞ is refused, naming the tensor and the element.
    /// </summary>
    public static unsafe (byte[] Codes, float Scale) QuantizeStored(string name, TensorDType dtype, ReadOnlySpan<byte> stored)
    {
        if (dtype is not (TensorDType.BF16 or TensorDType.F16))
            throw new ArgumentException($"'{name}': {dtype.SafeTensorsName()} is not a 16-bit float type", nameof(dtype));
        if (stored.Length % 2 != 0) throw new ArgumentException($"'{name}': {stored.Length} bytes is not a whole number of 16-bit values", nameof(stored));
        int count = stored.Length / 2;
        ushort exponentMask = dtype == TensorDType.BF16 ? (ushort)0x7f80 : (ushort)0x7c00;  // all ones: ±∞ or NaN
        Func<ushort, float> widen = dtype == TensorDType.BF16
            ? ElementConvert.BFloat16ToFloat
            : bits => (float)BitConverter.UInt16BitsToHalf(bits);
        var codes = new byte[count];
        fixed (byte* bytes = stored)
        {
            nint at = (nint)bytes;
            const int grain = 1 << 16;
            ushort max = ParallelRanges.Reduce(count, grain, (start, end) => MaxMagnitude(new ReadOnlySpan<ushort>((ushort*)at + start, end - start)),
                Math.Max, (ushort)0);
            if ((max & exponentMask) == exponentMask)
            {
                var values = new ReadOnlySpan<ushort>((ushort*)at, count);
                int bad = 0;
                while ((values[bad] & exponentMask) != exponentMask) bad++;
                throw new QuantizationException($"tensor '{name}' holds {widen(values[bad])} at element {bad}; only finite values can be quantized");
            }
            float scale = Fp8WeightScale.For(widen(max), dtype);
            float inverse = 1f / scale;
            var table = new byte[65536];
            for (int b = 0; b < table.Length; b++)
                if ((b & exponentMask) != exponentMask) table[b] = E4M3.Encode(widen((ushort)b) * inverse);
            ParallelRanges.For(count, grain, (start, end) =>
            {
                var input = new ReadOnlySpan<ushort>((ushort*)at + start, end - start);
                var output = codes.AsSpan(start, end - start);
                for (int i = 0; i < input.Length; i++) output[i] = table[input[i]];
            });
            return (codes, scale);
        }
    }

    /// <summary>The largest of the values' bits below the sign (|x| as an integer: a NaN or ±∞ compares above every
    /// finite magnitude).</summary>
    static ushort MaxMagnitude(ReadOnlySpan<ushort> bits)
    {
        int i = 0;
        var acc = Vector<ushort>.Zero;
        var magnitude = new Vector<ushort>(0x7fff);
        for (; i + Vector<ushort>.Count <= bits.Length; i += Vector<ushort>.Count)
            acc = Vector.Max(acc, new Vector<ushort>(bits.Slice(i, Vector<ushort>.Count)) & magnitude);
        ushort max = 0;
        for (int k = 0; k < Vector<ushort>.Count; k++) max = Math.Max(max, acc[k]);
        for (; i < bits.Length; i++) max = Math.Max(max, (ushort)(bits[i] & 0x7fff));
        return max;
    }
}
