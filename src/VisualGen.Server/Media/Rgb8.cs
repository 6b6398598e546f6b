namespace VisualGen.Server.Media;

/// <summary>float32 [0, 1] → 8-bit RGB the way diffusers' numpy_to_pil does: round(x × 255), clipped.</summary>
public static class Rgb8
{
    public static void Convert(ReadOnlySpan<float> source, Span<byte> destination)
    {
        if (source.Length != destination.Length) throw new ArgumentException($"{source.Length} floats for {destination.Length} bytes");
        for (int i = 0; i < source.Length; i++)
            destination[i] = (byte)Math.Clamp(MathF.Round(source[i] * 255f, MidpointRounding.ToEven), 0f, 255f);
    }
}
