namespace VisualGen.Quantization;

/// <summary>
/// The 4-bit E2M1 codes of NVFP4, as NVIDIA ModelOpt assigns them: magnitude code = searchsorted of |v| in the
/// midpoints [0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5] (the index of the first midpoint ≥ |v|, so a value on a midpoint
/// rounds down), plus one when |v| is exactly 0.75, 1.75 or 2.5 (those round up). So the ties go
/// 0.25→0, 0.75→1, 1.25→1, 1.75→2, 2.5→3, 3.5→3, 5→4: not round-half-even at 2.5 and 3.5. The sign is bit 3, set
/// only for v &lt; 0 (−0 encodes as +0). Above 5 (and for ±∞ and NaN) the magnitude is 6, code 7.
/// </summary>
public static class E2M1
{
    static readonly float[] Midpoints = [0.25f, 0.75f, 1.25f, 1.75f, 2.5f, 3.5f, 5f];
    /// <summary>The value of each code, ModelOpt's table: code 8 ("−0") decodes to +0, as the goldens' dequant has it.</summary>
    static readonly float[] Values = [0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, 0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f];

    public const byte SignBit = 0x8;

    public static byte Encode(float value)
    {
        float magnitude = MathF.Abs(value);
        int code = 0;
        // "not ≤" rather than ">" so NaN counts past every midpoint, as torch.searchsorted places NaN last
        foreach (float midpoint in Midpoints)
            if (!(magnitude <= midpoint)) code++;
        if (magnitude is 0.75f or 1.75f or 2.5f) code++;
        return (byte)(value < 0 ? code | SignBit : code);
    }

    public static float Decode(byte code) => Values[code & 0xf];
}
