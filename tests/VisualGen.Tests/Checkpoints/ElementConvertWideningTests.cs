using System.Runtime.InteropServices;
using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Tests.Checkpoints;

/// <summary>16-bit floats widened to float32 (vectorized, and on every core for large arrays) against the one-value
/// conversions, bit for bit: NaN payloads, infinities, subnormals, negative zero, any length.</summary>
public class ElementConvertWideningTests
{
    [Theory]
    [InlineData(TensorDType.BF16, 0)]
    [InlineData(TensorDType.BF16, 37)]           // a vector's worth and a tail
    [InlineData(TensorDType.BF16, 5_000_003)]    // several ranges on the thread pool, and a tail
    [InlineData(TensorDType.F16, 37)]
    [InlineData(TensorDType.F16, 5_000_003)]
    public void Every_bit_pattern_widens_as_one_value_does(TensorDType dtype, int count)
    {
        var bits = new ushort[count];
        var rnd = new Random(count);
        for (int i = 0; i < count; i++) bits[i] = i < 65536 ? (ushort)i : (ushort)rnd.Next(65536);  // every pattern first
        var widened = ElementConvert.ToFloat32(MemoryMarshal.AsBytes(bits.AsSpan()), dtype, count);
        for (int i = 0; i < count; i++)
        {
            float one = dtype == TensorDType.BF16 ? ElementConvert.BFloat16ToFloat(bits[i]) : (float)BitConverter.UInt16BitsToHalf(bits[i]);
            if (BitConverter.SingleToUInt32Bits(one) != BitConverter.SingleToUInt32Bits(widened[i]))
                Assert.Fail($"{dtype} 0x{bits[i]:x4} at {i}: 0x{BitConverter.SingleToUInt32Bits(widened[i]):x8}, one at a time 0x{BitConverter.SingleToUInt32Bits(one):x8}");
        }
    }

    [Fact]
    public void Too_few_stored_values_for_the_output_is_an_error_not_a_read_past_the_end()
    {
        Assert.Throws<ArgumentException>(() => ElementConvert.ToFloat32(new byte[6], TensorDType.BF16, new float[4]));
        Assert.Throws<ArgumentException>(() => ElementConvert.ToFloat32(new byte[6], TensorDType.F16, new float[4]));
    }
}
