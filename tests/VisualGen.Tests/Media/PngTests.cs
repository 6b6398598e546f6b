using System.Buffers.Binary;
using VisualGen.Checkpoints;
using VisualGen.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Media;

public class PngTests
{
    static RgbImage Noise(int w, int h, int seed)
    {
        var px = new byte[w * h * 3];
        new Random(seed).NextBytes(px);
        // Half smooth gradient, half noise, so different rows prefer different filters.
        for (int y = 0; y < h / 2; y++)
            for (int i = 0; i < w * 3; i++) px[y * w * 3 + i] = (byte)(y * 7 + i * 3);
        return new RgbImage(w, h, px);
    }

    [Fact]
    public void RoundTripThroughOurDecoderIsExact()
    {
        foreach (var (w, h) in new[] { (1, 1), (7, 5), (64, 33) })
        {
            var img = Noise(w, h, w * h);
            var back = PngReader.Decode(PngWriter.Encode(img));
            Assert.Equal((w, h), (back.Width, back.Height));
            Assert.Equal(img.Pixels, back.Pixels);
        }
    }

    [Fact]
    public void Crc32MatchesTheStandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Fact]
    public void FileHasPngStructure()
    {
        var png = PngWriter.Encode(Noise(5, 3, 1));
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        // IHDR: length 13, 5x3, depth 8, colour type 2 (RGB), deflate, adaptive filter, no interlace.
        Assert.Equal(13, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(8)));
        Assert.Equal("IHDR"u8.ToArray(), png[12..16]);
        Assert.Equal(5, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)));
        Assert.Equal(3, BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
        Assert.Equal(new byte[] { 8, 2, 0, 0, 0 }, png[24..29]);
        // Every chunk's CRC covers type + data.
        var types = new List<string>();
        for (int p = 8; p < png.Length;)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(p));
            types.Add(System.Text.Encoding.ASCII.GetString(png, p + 4, 4));
            Assert.Equal(Crc32.Compute(png.AsSpan(p + 4, 4 + len)), BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(p + 8 + len)));
            p += 12 + len;
        }
        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
        // The IEND chunk every PNG ends with, CRC included.
        Assert.Equal(new byte[] { 0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82 }, png[^12..]);
    }

    [ConformanceFact]
    public void DecodesTheI2VConditioningImageAsDiffusersLoadedIt()
    {
        // image.png was written by PIL (rows use filters None, Sub, Up and Paeth); pipeline.image holds its uint8 pixels.
        var img = PngReader.Read(Path.Combine(Fixtures.Family("wan21_i2v"), "image.png"));
        using var golden = Fixtures.Golden("wan21_i2v");
        Assert.Equal(golden.GetBytes("pipeline.image").ToArray(), img.Pixels);
    }

    [FfmpegFact]
    public void DecodesFfmpegPngsOfEveryFilterAndColourType()
    {
        var dir = Fixtures.TempDir("png");
        try
        {
            var img = Noise(23, 14, 7);
            var raw = Path.Combine(dir, "in.rgb");
            File.WriteAllBytes(raw, img.Pixels);
            // Every filter on RGB, every colour type with per-row mixed filters.
            var cases = new[] { "none", "sub", "up", "avg", "paeth", "mixed" }.Select(p => (p, "rgb24"))
                .Concat(new[] { "rgba", "gray", "ya8", "pal8" }.Select(f => ("mixed", f)));
            foreach (var (pred, fmt) in cases)
                {
                    var png = Path.Combine(dir, $"{pred}-{fmt}.png");
                    FfmpegTool.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
                        "-s", "23x14", "-i", raw, "-pred", pred, "-pix_fmt", fmt, "-frames:v", "1", png);
                    // ffmpeg's own decode of the same file is the reference.
                    var expected = FfmpegTool.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", png,
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
                    Assert.Equal(expected, PngReader.Read(png).Pixels);
                }
        }
        finally { Directory.Delete(dir, true); }
    }

    [FfmpegFact]
    public void FfmpegDecodesOurPngToTheSamePixels()
    {
        var dir = Fixtures.TempDir("png");
        try
        {
            var img = Noise(31, 9, 3);
            var path = Path.Combine(dir, "out.png");
            PngWriter.Write(path, img);
            var decoded = FfmpegTool.Run("ffmpeg", "-hide_banner", "-loglevel", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-");
            Assert.Equal(img.Pixels, decoded);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void NonPngInputIsRefusedByName()
    {
        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F' };
        var e = Assert.Throws<MediaException>(() => PngReader.Decode(jpeg, "photo.jpg"));
        Assert.Contains("photo.jpg", e.Message); Assert.Contains("JPEG", e.Message);
        var png = PngWriter.Encode(Noise(4, 4, 2));
        png[40] ^= 0xFF;   // inside IDAT: the CRC no longer matches
        Assert.Contains("CRC", Assert.Throws<MediaException>(() => PngReader.Decode(png, "x.png")).Message);
    }

    public static TheoryData<string> PilCases() => [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Media", "Data", "pil_png"), "*.png")
        .Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal)];

    [Theory]
    [MemberData(nameof(PilCases))]
    public void Every_colour_type_and_bit_depth_decodes_as_pil_reads_it(string name)
    {
        // 1-, 2- and 4-bit gray and palette, 16-bit RGB, gray+alpha and RGBA, Adam7 interlacing: refused before ("bit depth
        // 1 is not supported"), yet PIL saves mode "1" masks as 1-bit PNGs. Expected: PIL's convert("RGB") and its alpha.
        string dir = Path.Combine(AppContext.BaseDirectory, "Media", "Data", "pil_png");
        var (image, alpha) = PngReader.DecodeWithAlpha(File.ReadAllBytes(Path.Combine(dir, name + ".png")), name);
        byte[] expected = File.ReadAllBytes(Path.Combine(dir, name + ".rgba"));
        int pixels = image.Width * image.Height;
        Assert.Equal(expected[..(3 * pixels)], image.Pixels);
        Assert.Equal(expected[(3 * pixels)..], alpha ?? Enumerable.Repeat((byte)255, pixels).ToArray());
    }

    [Fact]
    public void Sixteen_bit_grayscale_is_refused_saying_why()
    {
        // PIL reads it as mode I;16 and convert("RGB") clips it to 8 bits: a near-white image, which we do not reproduce
        byte[] png = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Media", "Data", "pil_png", "gray8.png"));
        png[24] = 16;  // IHDR's bit depth, then its CRC
        BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.Compute(png.AsSpan(12, 17)));
        var e = Assert.Throws<MediaException>(() => PngReader.Decode(png, "depth.png"));
        Assert.Equal("depth.png: a 16-bit grayscale PNG is not supported: PIL (diffusers' load_image) clips its values to 8 bits, which turns most such images near-white; save it as 8-bit", e.Message);
    }

    [Fact]
    public void FloatConversionRoundsAsNumpyToPil()
    {
        // (x·255).round(): half to even in float32; values outside [0, 1] clamp.
        float[] x = [0f, 1f, 128f / 255f, 0.5f, 2.5f / 255f, -0.2f, 1.3f, 0.1f];
        var img = RgbImage.FromFloat(x.Concat(new float[1]).ToArray(), 1, 3);
        byte[] expected = x.Select(v => (byte)Math.Clamp(Math.Round((double)(v * 255f), MidpointRounding.ToEven), 0, 255)).Append((byte)0).ToArray();
        Assert.Equal(expected, img.Pixels);
        Assert.Equal(new byte[] { 0, 255, 128, 128 }, img.Pixels[..4]);
        Assert.Contains("NaN", Assert.Throws<MediaException>(() => RgbImage.FromFloat(new[] { float.NaN, 0, 0 }, 1, 1)).Message);
    }
}

/// <summary>PNG alpha for masks: an RGBA file's own channel; an RGB file has none.</summary>
public class PngAlphaTests
{
    [Fact]
    public void Rgba_alpha_is_read_beside_the_rgb_and_rgb_has_none()
    {
        byte[] png = RgbaPng.Encode(3, 2, (y, x) => ((byte)(10 * x), (byte)(20 * y), 7, (byte)(x == 1 ? 0 : 200 + y)));
        var (image, alpha) = PngReader.DecodeWithAlpha(png);
        Assert.Equal([200, 0, 200, 201, 0, 201], alpha!.Select(a => (int)a));
        Assert.Equal([0, 0, 7, 10, 0, 7, 20, 0, 7, 0, 20, 7, 10, 20, 7, 20, 20, 7], image.Pixels.Select(p => (int)p));
        Assert.Null(PngReader.DecodeWithAlpha(PngWriter.Encode(image)).Alpha);
    }
}
