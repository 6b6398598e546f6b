using VisualGen.Quantization;

namespace VisualGen.Tests.Quantization;

/// <summary>NVFP4's E2M1 codes by ModelOpt's rule (golden.json): searchsorted of |v| in the midpoints, plus one at
/// exactly 0.75, 1.75 and 2.5. So 2.5 goes up to 3 and 3.5 down to 3, unlike round-half-even.</summary>
public class E2M1Tests
{
    [Theory]
    [InlineData(0.25f, 0)]    // 0 | 0.5: down
    [InlineData(0.75f, 2)]    // 0.5 | 1: up
    [InlineData(1.25f, 2)]    // 1 | 1.5: down
    [InlineData(1.75f, 4)]    // 1.5 | 2: up
    [InlineData(2.5f, 5)]     // 2 | 3: up, to 3
    [InlineData(3.5f, 5)]     // 3 | 4: down, to 3
    [InlineData(5f, 6)]       // 4 | 6: down
    [InlineData(-2.5f, 0xd)]
    [InlineData(-3.5f, 0xd)]
    public void Midpoints_go_the_way_golden_json_states(float value, int code) => Assert.Equal(code, E2M1.Encode(value));

    [Theory]
    [InlineData(0f, 0)]
    [InlineData(0.26f, 1)]
    [InlineData(2.9f, 5)]
    [InlineData(5.01f, 7)]
    [InlineData(100f, 7)]
    [InlineData(-6f, 0xf)]
    [InlineData(-0.1f, 0x8)]
    public void Other_values_take_the_nearest_code(float value, int code) => Assert.Equal(code, E2M1.Encode(value));

    [Fact]
    public void Negative_zero_encodes_without_the_sign_bit() => Assert.Equal(0, E2M1.Encode(-0f));

    [Fact]
    public void Codes_decode_to_the_e2m1_values_with_minus_zero_as_plus_zero()
    {
        float[] expected = [0, 0.5f, 1, 1.5f, 2, 3, 4, 6];
        for (int c = 0; c < 8; c++)
        {
            Assert.Equal(expected[c], E2M1.Decode((byte)c));
            Assert.Equal(-expected[c], E2M1.Decode((byte)(c | 8)));
            Assert.Equal(BitConverter.SingleToInt32Bits(-expected[c] + 0f), BitConverter.SingleToInt32Bits(E2M1.Decode((byte)(c | 8))));
            Assert.Equal(c, E2M1.Encode(expected[c]));
        }
    }
}
