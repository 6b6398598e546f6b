using VisualGen.Tensors;

namespace VisualGen.Quantization;

/// <summary>
/// OCP FP8 E4M3 ("e4m3fn": bias 7, no infinities, 0x7f/0xff NaN, largest finite ±448). Encoding rounds to nearest,
/// ties to even, and saturates to ±448 (CUDA's <c>__NV_SATFINITE</c>, torch's clamp-then-cast): every finite or
/// infinite input maps to a finite code; NaN stays NaN. The sign is kept, so −0 and negatives that round to zero
/// encode as 0x80.
/// </summary>
public static class E4M3
{
    /// <summary>The largest finite magnitude.</summary>
    public const float Max = 448f;

    /// <summary>The code of +448 (sign bit clear).</summary>
    public const byte MaxCode = 0x7e;

    /// <summary>The code of +1.0 (exponent 7, mantissa 0).</summary>
    public const byte One = 0x38;

    const byte NaNCode = 0x7f;
    const float SmallestNormal = 1f / 64;   // 2^-6; below it the step is 2^-9 (subnormals)

    public static byte Encode(float value)
    {
        if (float.IsNaN(value)) return NaNCode;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        byte sign = (byte)((bits >> 24) & 0x80);
        float magnitude = MathF.Abs(value);
        if (magnitude >= Max) return (byte)(sign | MaxCode);
        if (magnitude < SmallestNormal)
        {
            // subnormal: a multiple of 2^-9; the scaling by 512 is exact, MathF.Round rounds half to even.
            // A result of 8 is 0x08, the smallest normal: the encoding carries into the exponent by itself.
            return (byte)(sign | (int)MathF.Round(magnitude * 512f));
        }
        // normal: keep 3 of float32's 23 mantissa bits, rounding the 20 dropped bits half to even; a carry out of the
        // mantissa increments the exponent, which is what rounding up to the next binade means.
        uint m = BitConverter.SingleToUInt32Bits(magnitude);
        m += 0x7ffffu + ((m >> 20) & 1);
        int exponent = (int)(m >> 23) - 127 + 7;
        int mantissa = (int)((m >> 20) & 7);
        return (byte)(sign | (exponent << 3) | mantissa);
    }

    public static float Decode(byte code) => ElementConvert.Float8E4M3ToFloat(code);
}
