using System.Buffers.Binary;

namespace VisualGen.Media;

/// <summary>
/// The width and height an image file declares in its header (PNG's IHDR, a JPEG's start-of-frame, WebP's VP8/VP8L/VP8X
/// chunk, GIF's logical screen, BMP's info header), read without decoding, so a server can refuse a small file that would decode to gigabytes.
/// </summary>
public static class ImageHeader
{
    /// <summary>The declared size, or null when the format is not one of these or its header is cut short.</summary>
    public static (long Width, long Height)? Dimensions(ReadOnlySpan<byte> d)
    {
        if (ImageReader.IsPng(d))
            return d.Length >= 24 && d[12..16].SequenceEqual("IHDR"u8)
                ? (BinaryPrimitives.ReadUInt32BigEndian(d[16..]), BinaryPrimitives.ReadUInt32BigEndian(d[20..]))
                : null;
        if (IsJpeg(d)) return Jpeg(d);
        if (IsWebP(d)) return d.Length >= 30 ? WebP(d) : null;
        // GIF: the logical screen's width and height, 16-bit little-endian, after "GIF87a"/"GIF89a" (every frame is drawn on it)
        if (IsGif(d))
            return d.Length >= 10 ? (BinaryPrimitives.ReadUInt16LittleEndian(d[6..]), BinaryPrimitives.ReadUInt16LittleEndian(d[8..])) : null;
        if (IsBmp(d)) return d.Length >= 26 ? Bmp(d) : null;
        return null;
    }

    // The formats' signatures (the first bytes of the file), for the size above and for naming a file's format
    internal static bool IsJpeg(ReadOnlySpan<byte> d) => d.Length >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
    internal static bool IsWebP(ReadOnlySpan<byte> d) => d.Length >= 12 && d[..4].SequenceEqual("RIFF"u8) && d[8..12].SequenceEqual("WEBP"u8);
    internal static bool IsGif(ReadOnlySpan<byte> d) => d.Length >= 6 && (d[..6].SequenceEqual("GIF87a"u8) || d[..6].SequenceEqual("GIF89a"u8));
    internal static bool IsBmp(ReadOnlySpan<byte> d) => d.Length >= 2 && d[0] == (byte)'B' && d[1] == (byte)'M';
    internal static bool IsTiff(ReadOnlySpan<byte> d) => d.Length >= 4 && (d[..4].SequenceEqual("II*\0"u8) || d[..4].SequenceEqual("MM\0*"u8));

    /// <summary>The first start-of-frame marker (SOF0–SOF15 but DHT, JPG and DAC): precision, height, width.</summary>
    static (long, long)? Jpeg(ReadOnlySpan<byte> d)
    {
        int i = 2;
        while (i + 9 < d.Length)
        {
            if (d[i] != 0xFF) return null;
            byte marker = d[i + 1];
            if (marker == 0xFF) { i++; continue; }
            if (marker is 0xD8 or 0x01 or (>= 0xD0 and <= 0xD7)) { i += 2; continue; } // no length
            int length = BinaryPrimitives.ReadUInt16BigEndian(d[(i + 2)..]);
            if (marker is >= 0xC0 and <= 0xCF and not 0xC4 and not 0xC8 and not 0xCC)
                return (BinaryPrimitives.ReadUInt16BigEndian(d[(i + 7)..]), BinaryPrimitives.ReadUInt16BigEndian(d[(i + 5)..]));
            i += 2 + length;
        }
        return null;
    }

    /// <summary>The info header after the 14-byte file header: BITMAPCOREHEADER (size 12) has 16-bit width and height,
    /// the later ones 32-bit, the height negative for a top-down image.</summary>
    static (long, long)? Bmp(ReadOnlySpan<byte> d)
    {
        uint size = BinaryPrimitives.ReadUInt32LittleEndian(d[14..]);
        if (size == 12) return (BinaryPrimitives.ReadUInt16LittleEndian(d[18..]), BinaryPrimitives.ReadUInt16LittleEndian(d[20..]));
        if (size < 40) return null;
        return (Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(d[18..])), Math.Abs((long)BinaryPrimitives.ReadInt32LittleEndian(d[22..])));
    }

    static (long, long)? WebP(ReadOnlySpan<byte> d)
    {
        var chunk = d[12..16];
        if (chunk.SequenceEqual("VP8X"u8))
            return (1 + (d[24] | d[25] << 8 | d[26] << 16), 1 + (d[27] | d[28] << 8 | d[29] << 16));
        if (chunk.SequenceEqual("VP8L"u8) && d[20] == 0x2F)
        {
            uint bits = BinaryPrimitives.ReadUInt32LittleEndian(d[21..]);
            return (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF));
        }
        if (chunk.SequenceEqual("VP8 "u8))
            return (BinaryPrimitives.ReadUInt16LittleEndian(d[26..]) & 0x3FFF, BinaryPrimitives.ReadUInt16LittleEndian(d[28..]) & 0x3FFF);
        return null;
    }
}
