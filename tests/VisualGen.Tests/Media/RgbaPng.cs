using System.Buffers.Binary;
using System.IO.Compression;
using VisualGen.Media;

namespace VisualGen.Tests.Media;

/// <summary>Writes an RGBA PNG (colour type 6, filter 0 rows): masks with alpha for the tests (the library writes RGB only).</summary>
static class RgbaPng
{
    public static byte[] Encode(int width, int height, Func<int, int, (byte R, byte G, byte B, byte A)> pixel)
    {
        using var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(0);
            for (int x = 0; x < width; x++)
            {
                var (r, g, b, a) = pixel(y, x);
                raw.Write([r, g, b, a]);
            }
        }
        using var z = new MemoryStream();
        using (var deflate = new ZLibStream(z, CompressionLevel.Fastest, leaveOpen: true)) deflate.Write(raw.ToArray());
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;
        ihdr[9] = 6;
        using var png = new MemoryStream();
        png.Write(PngWriter.Signature);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", z.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(head, data.Length);
        System.Text.Encoding.ASCII.GetBytes(type, head.AsSpan(4));
        s.Write(head);
        s.Write(data);
        var crc = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(crc, Crc32.Compute([.. head.AsSpan(4).ToArray(), .. data]));
        s.Write(crc);
    }
}
