using System.Runtime.InteropServices;
using VisualGen.Checkpoints;
using VisualGen.Quantization;
using VisualGen.Tensors;

namespace VisualGen.Tests.Quantization;

/// <summary>FP8 per-tensor from a weight's stored 16-bit values (<see cref="Fp8PerTensorScheme.QuantizeStored"/>, what an
/// engine build quantizes with) against the scheme's <see cref="Fp8PerTensorScheme.Quantize"/> of the widened values:
/// the same codes and scale, byte for byte.</summary>
public class Fp8StoredWeightTests
{
    static ushort Bits(float v, TensorDType dtype) =>
        dtype == TensorDType.BF16 ? ElementConvert.FloatToBFloat16(v) : BitConverter.HalfToUInt16Bits((Half)v);

    static float Widen(ushort bits, TensorDType dtype) =>
        dtype == TensorDType.BF16 ? ElementConvert.BFloat16ToFloat(bits) : (float)BitConverter.UInt16BitsToHalf(bits);

    static void AssertSameAsScheme(ushort[] bits, TensorDType dtype)
    {
        var values = bits.Select(b => Widen(b, dtype)).ToArray();
        var reference = new Fp8PerTensorScheme().Quantize(new SourceTensor("w", dtype, [bits.Length], values));
        var (codes, scale) = Fp8PerTensorScheme.QuantizeStored("w", dtype, MemoryMarshal.AsBytes(bits.AsSpan()));
        Assert.Equal(Assert.Single(reference.Floats("scale")), scale);
        Assert.Equal(reference.Bytes("q"), codes);
    }

    [Theory]
    [InlineData(TensorDType.BF16)]
    [InlineData(TensorDType.F16)]
    public void Codes_and_scale_equal_the_schemes_on_random_weights_larger_than_one_parallel_range(TensorDType dtype)
    {
        var rnd = new Random(7);
        // 200 003 values (three ranges and an odd tail), a spread of magnitudes (subnormal codes, ties, the amax)
        var bits = new ushort[200_003];
        for (int i = 0; i < bits.Length; i++)
            bits[i] = Bits((float)((rnd.NextDouble() * 2 - 1) * Math.Pow(10, rnd.Next(-5, 1))), dtype);
        bits[12_345] = Bits(-3.5f, dtype);   // the amax, negative
        AssertSameAsScheme(bits, dtype);
    }

    [Theory]
    [InlineData(TensorDType.BF16)]
    [InlineData(TensorDType.F16)]
    public void Every_16_bit_finite_value_maps_as_the_scheme_maps_it(TensorDType dtype)
    {
        // all finite inputs of the format at once (the table's every entry), zeros and negative zero included
        ushort mask = dtype == TensorDType.BF16 ? (ushort)0x7f80 : (ushort)0x7c00;
        var bits = Enumerable.Range(0, 65536).Select(b => (ushort)b).Where(b => (b & mask) != mask).ToArray();
        AssertSameAsScheme(bits, dtype);
    }

    [Fact]
    public void An_all_zero_weight_gets_the_floor_scale_and_zero_codes()
    {
        AssertSameAsScheme(new ushort[1000], TensorDType.BF16);
        var (codes, scale) = Fp8PerTensorScheme.QuantizeStored("z", TensorDType.BF16, new byte[2000]);
        Assert.Equal(Fp8WeightScale.For(0, TensorDType.BF16), scale);
        Assert.All(codes, c => Assert.Equal(0, c));
    }

    [Theory]
    [InlineData(TensorDType.BF16, (ushort)0x7fc0, "NaN")]
    [InlineData(TensorDType.BF16, (ushort)0xff80, "-Infinity")]
    [InlineData(TensorDType.F16, (ushort)0x7c00, "Infinity")]
    public void A_non_finite_value_is_refused_naming_the_tensor_and_the_element(TensorDType dtype, ushort bad, string shown)
    {
        var bits = new ushort[100_000];
        bits[76_543] = bad;
        var e = Assert.Throws<QuantizationException>(() =>
            Fp8PerTensorScheme.QuantizeStored("blocks.3.ff.weight", dtype, MemoryMarshal.AsBytes(bits.AsSpan())));
        Assert.Contains("'blocks.3.ff.weight'", e.Message);
        Assert.Contains("element 76543", e.Message);
        Assert.Contains(shown, e.Message);
    }

    [Fact]
    public void Only_16_bit_float_types_are_taken()
    {
        Assert.Throws<ArgumentException>(() => Fp8PerTensorScheme.QuantizeStored("w", TensorDType.F32, new byte[8]));
        Assert.Throws<ArgumentException>(() => Fp8PerTensorScheme.QuantizeStored("w", TensorDType.BF16, new byte[3]));
    }
}
