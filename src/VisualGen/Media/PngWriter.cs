using System.Buffers.Binary;
using System.IO.Compression;

namespace VisualGen.Media;

/// <summary>
/// Encodes 8-bit RGB PNG: signature, IHDR, one zlib IDAT, IEND. Each row takes the filter (None, Sub, Up, Average,
/// Paeth) with the smallest sum of absolute filtered bytes, the heuristic the PNG specification recommends.
/// </summary>
public static class PngWriter
{
    internal static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> through a temporary file renamed into place.</summary>
    public static void Write(string path, RgbImage image)
    {
        var dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(dir);
        var tmp = WritableLocation.TempBeside(path);
        try
        {
            using (var fs = File.Create(tmp)) Write(fs, image);
            File.Move(tmp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(tmp);
            throw new MediaException($"{path}: cannot write PNG: {e.Message}", e);
        }
    }

    public static void Write(Stream stream, RgbImage image)
    {
        stream.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, image.Width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], image.Height);
        ihdr[8] = 8;   // bit depth
        ihdr[9] = 2;   // colour type: RGB
        ihdr[10] = 0;  // deflate
        ihdr[11] = 0;  // adaptive filtering
        ihdr[12] = 0;  // not interlaced
        WriteChunk(stream, "IHDR"u8, ihdr);
        WriteChunk(stream, "IDAT"u8, Compress(image));
        WriteChunk(stream, "IEND"u8, []);
    }

    public static byte[] Encode(RgbImage image)
    {
        using var ms = new MemoryStream();
        Write(ms, image);
        return ms.ToArray();
    }

    static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Finish(Crc32.Update(Crc32.Update(0xFFFFFFFFu, type), data)));
        s.Write(word);
    }

    static byte[] Compress(RgbImage image)
    {
        int stride = image.Width * 3;
        var candidates = new byte[5][];
        for (int f = 0; f < 5; f++) candidates[f] = new byte[stride];
        var zero = new byte[stride];
        using var ms = new MemoryStream();
        using (var z = new ZLibStream(ms, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int y = 0; y < image.Height; y++)
            {
                var row = image.Pixels.AsSpan(y * stride, stride);
                var prev = y == 0 ? zero : image.Pixels.AsSpan((y - 1) * stride, stride);
                int best = 0; long bestCost = long.MaxValue;
                for (int f = 0; f < 5; f++)
                {
                    PngFilters.Filter(f, row, prev, 3, candidates[f]);
                    long cost = 0;
                    foreach (byte b in candidates[f]) cost += b < 128 ? b : 256 - b;
                    if (cost < bestCost) { bestCost = cost; best = f; }
                }
                z.WriteByte((byte)best);
                z.Write(candidates[best]);
            }
        }
        return ms.ToArray();
    }
}
