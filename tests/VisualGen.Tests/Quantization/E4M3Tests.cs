using VisualGen.Quantization;

namespace VisualGen.Tests.Quantization;

/// <summary>E4M3 encoding: round to nearest with ties to even, saturation to ±448, NaN kept; values worked out by hand
/// from the format (bias 7, 3 mantissa bits, subnormal step 2^-9).</summary>
public class E4M3Tests
{
    [Theory]
    [InlineData(1f, 0x38)]
    [InlineData(0.5f, 0x30)]
    [InlineData(-2f, 0xc0)]
    [InlineData(448f, 0x7e)]
    [InlineData(1f / 64, 0x08)]      // smallest normal, 2^-6
    [InlineData(1f / 512, 0x01)]     // smallest subnormal, 2^-9
    [InlineData(0f, 0x00)]
    public void Representable_values_encode_exactly(float value, int code) => Assert.Equal(code, E4M3.Encode(value));

    [Theory]
    [InlineData(1.0625f, 0x38)]      // halfway 1.0 (mantissa 0) / 1.125 (1): the even one
    [InlineData(1.1875f, 0x3a)]      // halfway 1.125 (1) / 1.25 (2): up to the even one
    [InlineData(42f, 0x62)]          // halfway 40 (0x62) / 44 (0x63)
    [InlineData(1.9375f, 0x40)]      // halfway 1.875 / 2.0: the carry moves into the exponent
    [InlineData(432f, 0x7e)]         // halfway 416 (0x7d) / 448 (0x7e)
    [InlineData(3f / 1024, 0x02)]    // subnormal halfway 1·2^-9 / 2·2^-9
    [InlineData(1f / 1024, 0x00)]    // halfway 0 / 2^-9
    [InlineData(7.5f / 512, 0x08)]   // halfway the largest subnormal (7·2^-9) / the smallest normal
    [InlineData(-42f, 0xe2)]
    public void Ties_round_to_even(float value, int code) => Assert.Equal(code, E4M3.Encode(value));

    [Fact]
    public void Negative_zero_keeps_its_sign() => Assert.Equal(0x80, E4M3.Encode(-0f));

    [Fact]
    public void Just_past_a_tie_rounds_away_from_it()
    {
        Assert.Equal(0x39, E4M3.Encode(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1.0625f) + 1)));
        Assert.Equal(0x38, E4M3.Encode(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(1.0625f) - 1)));
    }

    [Theory]
    [InlineData(464f, 0x7e)]         // would round to 480, which e4m3fn lacks
    [InlineData(1e6f, 0x7e)]
    [InlineData(float.PositiveInfinity, 0x7e)]
    [InlineData(float.NegativeInfinity, 0xfe)]
    [InlineData(-500f, 0xfe)]
    [InlineData(-1e-10f, 0x80)]      // rounds to zero, keeps its sign
    public void Out_of_range_values_saturate_to_448(float value, int code) => Assert.Equal(code, E4M3.Encode(value));

    [Fact]
    public void NaN_stays_NaN()
    {
        Assert.Equal(0x7f, E4M3.Encode(float.NaN));
        Assert.True(float.IsNaN(E4M3.Decode(0x7f)));
    }

    [Fact]
    public void Every_code_decodes_to_its_value_by_the_definition()
    {
        // sign · 2^(e−7) · (1 + m/8), subnormals 2^−6 · m/8, computed in double with exact powers of two
        for (int code = 0; code < 256; code++)
        {
            int sign = code >> 7, e = (code >> 3) & 0xf, m = code & 7;
            float value = E4M3.Decode((byte)code);
            if (e == 0xf && m == 7) { Assert.True(float.IsNaN(value), $"0x{code:x2}"); continue; }
            double expected = (sign == 1 ? -1 : 1) * (e == 0 ? Math.ScaleB(m / 8.0, -6) : Math.ScaleB(1 + m / 8.0, e - 7));
            Assert.True(BitConverter.SingleToUInt32Bits((float)expected) == BitConverter.SingleToUInt32Bits(value),
                $"0x{code:x2}: {value}, the definition {expected}");
        }
    }

    [Fact]
    public void Every_finite_code_round_trips()
    {
        for (int code = 0; code < 256; code++)
        {
            if ((code & 0x7f) == 0x7f) continue;
            Assert.Equal(code, E4M3.Encode(E4M3.Decode((byte)code)));
        }
    }
}
