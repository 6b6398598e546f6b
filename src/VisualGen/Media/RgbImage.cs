namespace VisualGen.Media;

/// <summary>An 8-bit RGB image, rows top to bottom, pixels interleaved R, G, B.</summary>
public sealed class RgbImage
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width < 1 || height < 1) throw new ArgumentException($"image size {width}x{height} must be at least 1x1");
        if (pixels.LongLength != 3L * width * height)
            throw new ArgumentException($"a {width}x{height} RGB image has {3L * width * height} bytes, got {pixels.LongLength}");
        Width = width; Height = height; Pixels = pixels;
    }

    /// <summary>
    /// From float32 [height, width, 3] in [0, 1] as diffusers' numpy_to_pil converts: (x·255).round() (half to
    /// even, in float32) then uint8. Values outside [0, 1] are clamped; NaN is an error.
    /// </summary>
    public static RgbImage FromFloat(ReadOnlySpan<float> hwc, int height, int width) =>
        FromFloat(hwc, height, width, truncate: false);

    /// <summary>
    /// As <see cref="FromFloat(ReadOnlySpan{float}, int, int)"/> but truncating, (x·255).astype(uint8), as diffusers'
    /// export_to_video converts video frames.
    /// </summary>
    public static RgbImage FromFloatTruncated(ReadOnlySpan<float> hwc, int height, int width) =>
        FromFloat(hwc, height, width, truncate: true);

    static RgbImage FromFloat(ReadOnlySpan<float> hwc, int height, int width, bool truncate)
    {
        long n = 3L * height * width;
        if (hwc.Length != n) throw new ArgumentException($"[{height}, {width}, 3] needs {n} floats, got {hwc.Length}");
        var px = new byte[n];
        for (int i = 0; i < px.Length; i++)
        {
            float v = hwc[i];
            if (float.IsNaN(v))
                throw new MediaException($"image value at pixel (y={i / 3 / width}, x={i / 3 % width}) is NaN: the generation diverged");
            float s = v * 255f;
            s = truncate ? MathF.Truncate(s) : MathF.Round(s, MidpointRounding.ToEven);
            px[i] = (byte)Math.Clamp(s, 0f, 255f);
        }
        return new RgbImage(width, height, px);
    }

    /// <summary>float32 [height, width, 3] in [0, 1] (x / 255), the layout GenerationRequest.Image takes.</summary>
    public float[] ToFloat()
    {
        var f = new float[Pixels.Length];
        for (int i = 0; i < f.Length; i++) f[i] = Pixels[i] / 255f;
        return f;
    }
}
