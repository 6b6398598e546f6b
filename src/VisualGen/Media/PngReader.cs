using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VisualGen.Media;

/// <summary>
/// Decodes PNG to RGB8: bit depth 8, grayscale, gray+alpha, RGB, palette or RGBA, not interlaced, all five row
/// filters, CRCs checked. Alpha is dropped (as PIL's convert("RGB") in diffusers' load_image). Anything else,
/// JPEG included, is refused with a message naming the file and the problem.
/// </summary>
public static class PngReader
{
    public static RgbImage Read(string path) => Decode(ImageReader.ReadBytes(path), path);

    public static RgbImage Decode(ReadOnlySpan<byte> png, string source = "PNG data") => DecodeWithAlpha(png, source).Image;

    /// <summary>The image and its alpha (one byte a pixel, row-major), from an alpha channel (gray+alpha, RGBA) or a
    /// tRNS chunk (palette entries, or the one transparent gray or RGB value); null alpha when the PNG has neither.</summary>
    public static (RgbImage Image, byte[]? Alpha) DecodeWithAlpha(ReadOnlySpan<byte> png, string source = "PNG data")
    {
        if (png.Length < 8 || !png[..8].SequenceEqual(PngWriter.Signature))
        {
            string what = png.Length >= 3 && png[0] == 0xFF && png[1] == 0xD8 && png[2] == 0xFF ? "a JPEG file" : "not a PNG file";
            throw new MediaException($"{source}: {what}; only PNG images are supported (convert it, e.g. `ffmpeg -i in.jpg out.png`)");
        }
        int width = 0, height = 0, colorType = -1;
        byte[]? palette = null, transparency = null;
        using var idat = new MemoryStream();
        int pos = 8;
        bool end = false;
        while (!end)
        {
            if (pos + 12 > png.Length) throw Bad(source, "truncated (no IEND chunk)");
            int len = BinaryPrimitives.ReadInt32BigEndian(png[pos..]);
            if (len < 0 || pos + 12L + len > png.Length) throw Bad(source, $"chunk at byte {pos} runs past the end of the file");
            var type = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + len)..]);
            string name = Encoding.ASCII.GetString(type);
            if (Crc32.Compute(png.Slice(pos + 4, 4 + len)) != crc) throw Bad(source, $"CRC mismatch in chunk {name} at byte {pos}");
            switch (name)
            {
                case "IHDR":
                    if (len != 13) throw Bad(source, "IHDR is not 13 bytes");
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    int depth = data[8];
                    colorType = data[9];
                    if (width <= 0 || height <= 0) throw Bad(source, $"image size {width}x{height}");
                    if (depth != 8) throw Bad(source, $"bit depth {depth} is not supported (8 only)");
                    if (colorType is not (0 or 2 or 3 or 4 or 6)) throw Bad(source, $"colour type {colorType}");
                    if (data[10] != 0 || data[11] != 0) throw Bad(source, "unknown compression or filter method");
                    if (data[12] != 0) throw Bad(source, "interlaced PNG is not supported (save it non-interlaced)");
                    break;
                case "PLTE": palette = data.ToArray(); break;
                case "tRNS": transparency = data.ToArray(); break;
                case "IDAT": idat.Write(data); break;
                case "IEND": end = true; break;
            }
            pos += 12 + len;
        }
        if (colorType < 0) throw Bad(source, "no IHDR chunk");
        if (colorType == 3 && palette is null) throw Bad(source, "palette image without a PLTE chunk");

        int channels = colorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
        long strideL = (long)width * channels;
        if (strideL * height > int.MaxValue / 2) throw Bad(source, $"image {width}x{height} is too large");
        int stride = (int)strideL;
        var raw = new byte[(stride + 1) * height];
        idat.Position = 0;
        try
        {
            using var z = new ZLibStream(idat, CompressionMode.Decompress);
            z.ReadExactly(raw);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw Bad(source, $"image data is corrupt or short: {e.Message}");
        }

        var rgb = new byte[3 * width * height];
        byte[]? alpha = colorType is 4 or 6 || transparency is not null ? new byte[width * height] : null;
        var prev = new byte[stride];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            var row = raw.AsSpan(y * (stride + 1) + 1, stride);
            if (filter > 4) throw Bad(source, $"row {y} has filter type {filter} (valid: 0-4)");
            PngFilters.Unfilter(filter, row, prev, channels);
            for (int x = 0; x < width; x++)
            {
                int o = 3 * (y * width + x), i = x * channels;
                switch (colorType)
                {
                    case 0 or 4: rgb[o] = rgb[o + 1] = rgb[o + 2] = row[i]; break;
                    case 3:
                        int p = 3 * row[i];
                        if (p + 2 >= palette!.Length) throw Bad(source, $"palette index {row[i]} outside the PLTE chunk");
                        rgb[o] = palette[p]; rgb[o + 1] = palette[p + 1]; rgb[o + 2] = palette[p + 2];
                        break;
                    default: rgb[o] = row[i]; rgb[o + 1] = row[i + 1]; rgb[o + 2] = row[i + 2]; break;
                }
                if (alpha is not null) alpha[y * width + x] = Alpha(colorType, row, i, transparency);
            }
            row.CopyTo(prev);
        }
        return (new RgbImage(width, height, rgb), alpha);
    }

    /// <summary>A pixel's alpha: its own channel, its palette entry's tRNS value (255 past the chunk's end), or 0 where
    /// it is the tRNS colour of a gray or RGB image (16-bit samples, of which 8-bit images use the low byte).</summary>
    static byte Alpha(int colorType, ReadOnlySpan<byte> row, int i, byte[]? transparency) => colorType switch
    {
        4 => row[i + 1],
        6 => row[i + 3],
        3 => row[i] < transparency!.Length ? transparency[row[i]] : (byte)255,
        0 => transparency!.Length >= 2 && row[i] == transparency[1] ? (byte)0 : (byte)255,
        _ => transparency!.Length >= 6 && row[i] == transparency[1] && row[i + 1] == transparency[3] && row[i + 2] == transparency[5] ? (byte)0 : (byte)255,
    };

    static MediaException Bad(string source, string problem) => new($"{source}: invalid PNG: {problem}");
}
