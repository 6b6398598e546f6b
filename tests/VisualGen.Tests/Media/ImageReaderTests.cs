using System.Diagnostics;
using VisualGen.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Media;

public class ImageReaderTests
{
    static RgbImage Gradient(int w, int h)
    {
        var px = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                px[i] = (byte)(x * 255 / (w - 1)); px[i + 1] = (byte)(y * 255 / (h - 1)); px[i + 2] = 128;
            }
        return new RgbImage(w, h, px);
    }

    /// <summary>Runs ffmpeg with <paramref name="args"/>; fails the test with its stderr when it fails.</summary>
    internal static void RunFfmpeg(params string[] args)
    {
        var psi = new ProcessStartInfo(Ffmpeg.Find()!) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, err);
    }

    /// <summary>The PNG <paramref name="png"/> encoded as a JPEG by ffmpeg (with its encoder <paramref name="options"/>, e.g. -q:v 2).</summary>
    internal static byte[] JpegOf(byte[] png, params string[] options)
    {
        string dir = Fixtures.TempDir("jpeg");
        string pngPath = Path.Combine(dir, "in.png"), jpgPath = Path.Combine(dir, "in.jpg");
        File.WriteAllBytes(pngPath, png);
        RunFfmpeg(["-hide_banner", "-loglevel", "error", "-y", "-i", pngPath, .. options, jpgPath]);
        return File.ReadAllBytes(jpgPath);
    }

    [FfmpegFact]
    public void A_subsampled_jpeg_decodes_close_to_pils_pixels()
    {
        // diffusers reads JPEGs with PIL (libjpeg's upsampling of 4:2:0 chroma); swscale's default conversion was 102 levels
        // off at sharp colour edges (mean 4.9) on this file, with full-resolution chroma interpolation 34 (mean 2.2)
        string dir = Path.Combine(AppContext.BaseDirectory, "Media", "Data", "pil_jpeg");
        var image = ImageReader.Decode(File.ReadAllBytes(Path.Combine(dir, "edges.jpg")), "edges.jpg");
        byte[] pil = File.ReadAllBytes(Path.Combine(dir, "edges.rgb"));
        Assert.Equal((96, 64), (image.Width, image.Height));
        var diff = image.Pixels.Zip(pil, (a, b) => Math.Abs(a - b)).ToArray();
        Assert.True(diff.Max() <= 40 && diff.Average() <= 2.5, $"max {diff.Max()}, mean {diff.Average():F2} levels from PIL's decode");
    }

    [Fact]
    public void A_tiff_is_refused_by_name()
    {
        // ffmpeg cannot read TIFF from a pipe: its message was "Output file #0 does not contain any stream"
        foreach (byte[] tiff in new[] { "II*\0\u0008\0\0\0"u8.ToArray(), "MM\0*\0\0\0\u0008"u8.ToArray() })
            Assert.Equal("scan.tif: a TIFF file, which is not supported; convert it to PNG (e.g. `ffmpeg -i in.tif out.png`)",
                Assert.Throws<MediaException>(() => ImageReader.Decode(tiff, "scan.tif", "/usr/bin/ffmpeg")).Message);
    }

    [Fact]
    public void An_image_past_pils_decompression_bomb_limit_is_refused_before_decoding()
    {
        // only the header is read: a 20000 x 20000 PNG (a 438 KB gray one decoded to 11 GB of process memory) is refused as
        // PIL refuses it in diffusers' load_image; one pixel under the limit goes on to the decoder (here: its missing data)
        static byte[] Header(uint width, uint height)
        {
            var png = new byte[33];
            PngWriter.Signature.CopyTo(png.AsSpan());
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(8), 13);
            "IHDR"u8.CopyTo(png.AsSpan(12));
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(16), width);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(20), height);
            png[24] = 8; png[25] = 0;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(29), Crc32.Compute(png.AsSpan(12, 17)));
            return png;
        }
        var e = Assert.Throws<MediaException>(() => ImageReader.Decode(Header(20000, 20000), "bomb.png"));
        Assert.Equal("bomb.png: the image is 20000x20000 = 400,000,000 pixels, more than the 178,956,970 PIL (diffusers' load_image) " +
                     "accepts before refusing it as a decompression bomb; scale it down first", e.Message);
        e = Assert.Throws<MediaException>(() => ImageReader.Decode(Header(2, (uint)(ImageReader.MaxPixels / 2)), "tall.png"));
        Assert.DoesNotContain("decompression bomb", e.Message);
    }

    [FfmpegFact]
    public void Jpeg_and_webp_are_decoded_through_ffmpeg_close_to_the_original()
    {
        string dir = Fixtures.TempDir("imgread");
        var original = Gradient(48, 32);
        string png = Path.Combine(dir, "in.png");
        File.WriteAllBytes(png, PngWriter.Encode(original));
        foreach (var (name, codec) in new[] { ("photo.jpg", new[] { "-q:v", "1" }), ("photo.bmp", Array.Empty<string>()) })
        {
            string path = Path.Combine(dir, name);
            RunFfmpeg(["-hide_banner", "-loglevel", "error", "-y", "-i", png, .. codec, path]);
            var img = ImageReader.Read(path);
            Assert.Equal((48, 32), (img.Width, img.Height));
            double mad = img.Pixels.Zip(original.Pixels, (a, b) => Math.Abs(a - b)).Average();
            // BMP is lossless; JPEG at its best quality stays within a few levels on a smooth gradient
            Assert.True(name.EndsWith(".bmp") ? mad == 0 : mad < 3, $"{name}: mean abs difference {mad:F2} levels");
        }
    }

    [FfmpegFact]
    public void Exif_orientation_is_applied_as_diffusers_load_image_does()
    {
        // a JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6): PIL's exif_transpose, which
        // diffusers' load_image applies, turns a 48x32 picture into 32x48; ffmpeg's decoder does the same
        byte[] plain = JpegOf(PngWriter.Encode(Gradient(48, 32)), "-q:v", "1");
        byte[] tiff = [(byte)'I', (byte)'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0];
        byte[] app1 = [.. "Exif\0\0"u8, .. tiff];
        byte[] rotated = [0xFF, 0xD8, 0xFF, 0xE1, (byte)((app1.Length + 2) >> 8), (byte)(app1.Length + 2), .. app1, .. plain[2..]];
        var upright = ImageReader.Decode(plain, "plain.jpg");
        var turned = ImageReader.Decode(rotated, "rotated.jpg");
        Assert.Equal((32, 48), (turned.Width, turned.Height));
        // turned(x, y) = upright(y, H - 1 - x): the same decoded pixels, rotated clockwise
        for (int y = 0; y < 48; y++)
            for (int x = 0; x < 32; x++)
                for (int c = 0; c < 3; c++)
                    Assert.Equal(upright.Pixels[((31 - x) * 48 + y) * 3 + c], turned.Pixels[(y * 32 + x) * 3 + c]);
    }

    [FfmpegFact]
    public void Broken_jpeg_names_the_file_and_ffmpegs_reason()
    {
        var e = Assert.Throws<MediaException>(() => ImageReader.Decode([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', 1, 2, 3], "photo.jpg"));
        Assert.Matches(@"^photo\.jpg: a JPEG file; PNG is read directly, other formats are decoded with ffmpeg \(.*ffmpeg.*\), which failed: \S", e.Message);
        e = Assert.Throws<MediaException>(() => ImageReader.Decode("hello, not an image"u8.ToArray(), "notes.txt"));
        // what was tried (ffmpeg, which one) and what failed (ffmpeg's own lines), and what the bytes were
        Assert.StartsWith("notes.txt: not a PNG file (it starts with bytes 68 65 6c 6c 6f 2c 20 6e); PNG is read directly, other formats are decoded with ffmpeg (", e.Message);
        Assert.Contains("), which failed: ", e.Message);
        Assert.DoesNotContain("that ffmpeg cannot decode", e.Message);
    }

    [FfmpegFact]
    public void Truncated_jpeg_is_refused_not_decoded_with_its_missing_part_filled_in()
    {
        // ffmpeg's JPEG decoder conceals a cut-off scan (gray rows, exit code 0) unless its errors are fatal; PIL,
        // which diffusers' load_image uses, raises "image file is truncated"
        byte[] whole = JpegOf(PngWriter.Encode(Gradient(96, 64)), "-q:v", "2");
        var image = ImageReader.Decode(whole, "photo.jpg");
        Assert.Equal((96, 64), (image.Width, image.Height));
        var e = Assert.Throws<MediaException>(() => ImageReader.Decode(whole[..(whole.Length / 2)], "photo.jpg"));
        Assert.StartsWith("photo.jpg: a JPEG file; PNG is read directly, other formats are decoded with ffmpeg (", e.Message);
    }

    [FfmpegFact]
    public void Ffmpegs_reason_is_the_decoders_line_not_only_its_last_one()
    {
        // a JPEG declaring a width of 0: its decoder says why, and the last line it writes, which alone was the reason
        // given, is "Error marking filters as finished" (20000x20000 showed it too; that size is now refused before ffmpeg)
        byte[] data = JpegOf(PngWriter.Encode(Gradient(16, 16)));
        int sof = Enumerable.Range(2, data.Length - 3).First(i => data[i] == 0xFF && data[i + 1] == 0xC0);
        data[sof + 7] = 0; data[sof + 8] = 0;
        var e = Assert.Throws<MediaException>(() => ImageReader.Decode(data, "huge.jpg"));
        Assert.Contains("which failed: Picture size 0x16 is invalid", e.Message);
        Assert.DoesNotContain(" @ 0x", e.Message);
    }

    [Fact]
    public void Without_ffmpeg_png_still_reads_and_other_formats_are_refused_by_name()
    {
        var original = Gradient(8, 4);
        Assert.Equal(original.Pixels, ImageReader.Decode(PngWriter.Encode(original), "x.png", ffmpeg: null).Pixels);
        var e = Assert.Throws<MediaException>(() => ImageReader.Decode([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], "photo.jpg", ffmpeg: null));
        Assert.StartsWith("photo.jpg: a JPEG file; PNG is read directly, other formats need ffmpeg, which was not found on PATH", e.Message);
        e = Assert.Throws<MediaException>(() => ImageReader.Decode("RIFF\0\0\0\0WEBPVP8 "u8.ToArray(), "a.webp", ffmpeg: null));
        Assert.StartsWith("a.webp: a WebP file;", e.Message);
    }
}
