using System.Diagnostics;
using System.Text.RegularExpressions;

namespace VisualGen.Media;

/// <summary>
/// Reads conditioning images (--image, uploads): PNG with <see cref="PngReader"/>; any other format ffmpeg decodes
/// (JPEG, WebP, BMP, …) through ffmpeg, which turns its first frame into an RGB PNG in a pipe. ffmpeg applies a JPEG's
/// EXIF orientation as diffusers' load_image (PIL's exif_transpose) does; its YUV→RGB conversion can differ from PIL's
/// by a few levels. Decoding errors are fatal (-err_detect explode): a truncated or corrupt JPEG is refused, as PIL
/// refuses it ("image file is truncated"), rather than decoded with its missing part filled in.
/// Without ffmpeg, a non-PNG file is refused with a message naming the file, its format and how to install ffmpeg.
/// </summary>
public static partial class ImageReader
{
    static readonly TimeSpan DecodeTimeout = TimeSpan.FromSeconds(60);

    public static RgbImage Read(string path) => Decode(ReadBytes(path), path);

    /// <summary>The file's bytes; a read failure is a <see cref="MediaException"/> naming the file.</summary>
    internal static byte[] ReadBytes(string path)
    {
        try { return File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        { throw new MediaException($"{path}: cannot read image: {e.Message}", e); }
    }

    public static RgbImage Decode(byte[] data, string source = "image data") => Decode(data, source, Ffmpeg.Find());

    /// <param name="ffmpeg">the ffmpeg to decode non-PNG formats with; null: none available.</param>
    /// <summary>PIL's decompression-bomb limit (Image.MAX_IMAGE_PIXELS × 2): diffusers' load_image raises
    /// DecompressionBombError above it, so no diffusers run takes such an image (a 438 KB PNG of 20000 × 20000 gray
    /// decoded to 11 GB of process memory here).</summary>
    public const long MaxPixels = 2L * 89_478_485;

    internal static RgbImage Decode(byte[] data, string source, string? ffmpeg)
    {
        if (ImageHeader.Dimensions(data) is var (w, h) && w * h > MaxPixels)
            throw new MediaException($"{source}: the image is {w}x{h} = {w * h:N0} pixels, more than the {MaxPixels:N0} PIL (diffusers' " +
                                     "load_image) accepts before refusing it as a decompression bomb; scale it down first");
        if (IsPng(data)) return PngReader.Decode(data, source);
        string what = Describe(data);
        // ffmpeg reads TIFF from a file but not from the pipe it is given here ("does not contain any stream")
        if (ImageHeader.IsTiff(data))
            throw new MediaException($"{source}: a TIFF file, which is not supported; convert it to PNG (e.g. `ffmpeg -i in.tif out.png`)");
        if (ffmpeg is null)
            throw new MediaException($"{source}: {what}; PNG is read directly, other formats need ffmpeg, which was not found on PATH " +
                                     "(install it: Debian/Ubuntu `sudo apt-get install ffmpeg`, macOS `brew install ffmpeg`; or convert the image to PNG)");
        var psi = new ProcessStartInfo(ffmpeg) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // chroma interpolated at full resolution (bicubic, accurate rounding) comes closer to PIL's libjpeg upsampling than
        // swscale's default (a sharp-edged 4:2:0 JPEG: max 34 / mean 2.2 levels from PIL's pixels instead of 102 / 4.9)
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-err_detect", "explode", "-i", "pipe:0", "-frames:v", "1", "-f", "image2pipe",
                                  "-c:v", "png", "-pix_fmt", "rgb24", "-sws_flags", "bicubic+full_chroma_int+accurate_rnd", "pipe:1" })
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new MediaException($"{source}: could not start {ffmpeg}");
        var png = new MemoryStream();
        var stdout = process.StandardOutput.BaseStream.CopyToAsync(png);
        var stderr = process.StandardError.ReadToEndAsync();
        try
        {
            using var stdin = process.StandardInput.BaseStream;
            stdin.Write(data);
        }
        catch (IOException) { }  // ffmpeg stopped reading (it failed, or had enough): its exit code and stderr say which
        if (!process.WaitForExit(DecodeTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new MediaException($"{source}: ffmpeg did not decode {what} within {DecodeTimeout.TotalSeconds:F0} s");
        }
        stdout.Wait();
        string err = stderr.Result.Trim();
        if (process.ExitCode != 0 || png.Length == 0)
        {
            string reason = err.Length == 0 ? $"exit code {process.ExitCode}, no message" : Reason(err);
            throw new MediaException($"{source}: {what}; PNG is read directly, other formats are decoded with ffmpeg ({ffmpeg}), " +
                                     $"which failed: {reason}");
        }
        return PngReader.Decode(png.ToArray(), source);
    }

    /// <summary>ffmpeg's error lines, each once and without its "[mjpeg @ 0x…] " prefixes, joined: the decoder's own line
    /// ("Picture size 20000x20000 is invalid") comes first, the last is often a consequence ("Error marking filters as
    /// finished").</summary>
    internal static string Reason(string stderr) =>
        string.Join("; ", stderr.Split('\n').Select(l => LogPrefix().Replace(l, "").Trim()).Where(l => l.Length > 0).Distinct());

    [GeneratedRegex(@"\[[^\]]* @ 0x[0-9a-f]+\] ")]
    private static partial Regex LogPrefix();

    /// <summary>Whether the bytes start with the PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> data) => data.Length >= 8 && data[..8].SequenceEqual(PngWriter.Signature);

    static string Describe(ReadOnlySpan<byte> d) =>
        d.Length == 0 ? "an empty file"
        : ImageHeader.IsJpeg(d) ? "a JPEG file"
        : ImageHeader.IsWebP(d) ? "a WebP file"
        : ImageHeader.IsBmp(d) ? "a BMP file"
        : ImageHeader.IsGif(d) ? "a GIF file"
        : $"not a PNG file (it starts with bytes {string.Join(' ', d[..Math.Min(d.Length, 8)].ToArray().Select(b => b.ToString("x2")))})";
}
