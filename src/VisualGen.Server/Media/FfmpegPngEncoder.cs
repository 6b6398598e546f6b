using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using VisualGen.Tensors;

namespace VisualGen.Server.Media;

/// <summary>
/// MP4 through the ffmpeg executable (raw RGB frames on its stdin, libx264, yuv420p, faststart) and
/// PNG written directly (8-bit RGB, zlib). The server's own writer until src/VisualGen/Media lands.
/// </summary>
public sealed class FfmpegPngEncoder(string ffmpeg = "ffmpeg") : IMediaEncoder
{
    public async Task WriteMp4Async(HostTensor frames, int fps, string path, CancellationToken ct)
    {
        if (frames.Rank != 4 || frames.Shape[3] != 3)
            throw new ArgumentException($"video frames must be [frames, height, width, 3], got {frames.ShapeText}");
        int h = (int)frames.Shape[1], w = (int)frames.Shape[2];
        if (h % 2 != 0 || w % 2 != 0) throw new ArgumentException($"H.264 with yuv420p needs even sizes, got {w}x{h}");
        var psi = new ProcessStartInfo(ffmpeg)
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{w}x{h}",
                     "-r", fps.ToString(System.Globalization.CultureInfo.InvariantCulture), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p",
                     "-movflags", "+faststart", "-f", "mp4", path })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start '{ffmpeg}'");
        var stderr = p.StandardError.ReadToEndAsync(ct);
        var stdout = p.StandardOutput.ReadToEndAsync(ct);
        try
        {
            var rgb = new byte[frames.ElementCount];
            Rgb8.Convert(frames.Floats, rgb);
            await p.StandardInput.BaseStream.WriteAsync(rgb, ct);
            p.StandardInput.Close();
            await p.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            p.Kill();
            throw;
        }
        string err = await stderr;
        await stdout;
        if (p.ExitCode != 0) throw new IOException($"ffmpeg failed writing '{path}' (exit {p.ExitCode}): {err.Trim()}");
    }

    public byte[] EncodePng(HostTensor image)
    {
        if (image.Rank != 3 || image.Shape[2] != 3)
            throw new ArgumentException($"an image must be [height, width, 3], got {image.ShapeText}");
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        var rgb = new byte[image.ElementCount];
        Rgb8.Convert(image.Floats, rgb);
        var raw = new byte[h * (w * 3 + 1)];
        for (int y = 0; y < h; y++)
            rgb.AsSpan(y * w * 3, w * 3).CopyTo(raw.AsSpan(y * (w * 3 + 1) + 1)); // filter byte 0 (None)
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true)) z.Write(raw);
        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, w);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), h);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // colour type: truecolour
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    static void Chunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> head = stackalloc byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head[4..]);
        s.Write(head);
        s.Write(data);
        uint crc = Crc32(head[4..], data);
        Span<byte> tail = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(tail, crc);
        s.Write(tail);
    }

    /// <summary>PNG's CRC-32 (ISO 3309) over the chunk type and data.</summary>
    static uint Crc32(ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        uint c = 0xFFFFFFFFu;
        foreach (var b in type) c = Step(c, b);
        foreach (var b in data) c = Step(c, b);
        return c ^ 0xFFFFFFFFu;

        static uint Step(uint c, byte b)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            return c;
        }
    }
}
