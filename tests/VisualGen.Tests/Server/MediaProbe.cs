using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;

namespace VisualGen.Tests.Server;

/// <summary>Independent readers of what the server sends: ffprobe for MP4, a small PNG decoder.</summary>
public static class MediaProbe
{
    /// <summary>(frames counted by decoding, width, height, codec) of the first video stream.</summary>
    public static (int Frames, int Width, int Height, string Codec) Mp4(string path)
    {
        var psi = new ProcessStartInfo("ffprobe")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                     "stream=nb_read_frames,width,height,codec_name", "-of", "default=noprint_wrappers=1", path })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffprobe failed on {path}: {err}");
        var kv = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToDictionary(a => a[0], a => a[1].Trim());
        return (int.Parse(kv["nb_read_frames"]), int.Parse(kv["width"]), int.Parse(kv["height"]), kv["codec_name"]);
    }

    /// <summary>The codec of the first audio stream, or null when there is none.</summary>
    public static string? AudioCodec(string path)
    {
        var psi = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-v", "error", "-select_streams", "a:0", "-show_entries", "stream=codec_name", "-of", "default=noprint_wrappers=1:nokey=1", path })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd(), err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffprobe failed on {path}: {err}");
        return output.Trim() is { Length: > 0 } codec ? codec : null;
    }

    /// <summary>Every frame of an MP4 decoded by ffmpeg to rgb24, concatenated (frame, y, x, channel).</summary>
    public static byte[] Mp4Frames(string path)
    {
        var psi = new ProcessStartInfo("ffmpeg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "rgb24", "-" })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        using var frames = new MemoryStream();
        p.StandardOutput.BaseStream.CopyTo(frames);
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"ffmpeg could not decode {path}: {err.Result}");
        return frames.ToArray();
    }

    /// <summary>Decodes an 8-bit RGB, non-interlaced PNG (all five filter types) to (width, height, rgb bytes).</summary>
    public static (int Width, int Height, byte[] Rgb) Png(byte[] png)
    {
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        int pos = 8, w = 0, h = 0;
        using var idat = new MemoryStream();
        while (pos < png.Length)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = System.Text.Encoding.ASCII.GetString(png, pos + 4, 4);
            var data = png.AsSpan(pos + 8, len);
            if (type == "IHDR")
            {
                w = BinaryPrimitives.ReadInt32BigEndian(data);
                h = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                Assert.Equal(2, data[9]);
                Assert.Equal(0, data[12]);
            }
            else if (type == "IDAT") idat.Write(data);
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var rawStream = new MemoryStream();
        z.CopyTo(rawStream);
        var raw = rawStream.ToArray();
        int stride = w * 3;
        Assert.Equal(h * (stride + 1), raw.Length);
        var rgb = new byte[h * stride];
        for (int y = 0; y < h; y++)
        {
            byte filter = raw[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int a = x >= 3 ? rgb[y * stride + x - 3] : 0, b = y > 0 ? rgb[(y - 1) * stride + x] : 0;
                int c = x >= 3 && y > 0 ? rgb[(y - 1) * stride + x - 3] : 0;
                int v = raw[y * (stride + 1) + 1 + x];
                rgb[y * stride + x] = (byte)(filter switch
                {
                    0 => v,
                    1 => v + a,
                    2 => v + b,
                    3 => v + (a + b) / 2,
                    4 => v + Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG filter {filter}"),
                });
            }
        }
        return (w, h, rgb);
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
