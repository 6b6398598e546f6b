using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace VisualGen.Media;

/// <summary>
/// Decodes PNG to RGB8 as PIL reads it for diffusers' load_image (convert("RGB")): grayscale of 1, 2, 4 or 8 bits (scaled
/// to 0-255), palette of 1-8 bits, RGB, gray+alpha and RGBA of 8 or 16 bits (16-bit samples keep their high byte),
/// plain or Adam7-interlaced, all five row filters, CRCs checked. Alpha is dropped (returned beside the image for masks).
/// 16-bit grayscale is refused (PIL clips it to 8 bits: most such images turn near-white), as is anything that is not PNG.
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
            string what = ImageHeader.IsJpeg(png) ? "a JPEG file" : "not a PNG file";
            throw new MediaException($"{source}: {what}; only PNG images are supported (convert it, e.g. `ffmpeg -i in.jpg out.png`)");
        }
        int width = 0, height = 0, colorType = -1, depth = 0;
        bool interlaced = false;
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
                    depth = data[8];
                    colorType = data[9];
                    if (width <= 0 || height <= 0) throw Bad(source, $"image size {width}x{height}");
                    if (colorType is not (0 or 2 or 3 or 4 or 6)) throw Bad(source, $"colour type {colorType}");
                    bool depthValid = colorType switch { 0 => depth is 1 or 2 or 4 or 8 or 16, 3 => depth is 1 or 2 or 4 or 8, _ => depth is 8 or 16 };
                    if (!depthValid) throw Bad(source, $"bit depth {depth} with colour type {colorType}");
                    if (colorType == 0 && depth == 16)
                        throw new MediaException($"{source}: a 16-bit grayscale PNG is not supported: PIL (diffusers' load_image) clips " +
                                                 "its values to 8 bits, which turns most such images near-white; save it as 8-bit");
                    if (data[10] != 0 || data[11] != 0) throw Bad(source, "unknown compression or filter method");
                    if (data[12] > 1) throw Bad(source, $"interlace method {data[12]}");
                    interlaced = data[12] == 1;
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
        int bitsPerPixel = channels * depth, filterBytes = Math.Max(1, bitsPerPixel / 8);
        // the passes: the whole image, or Adam7's seven (first column and row, column and row step)
        var passes = interlaced ? Adam7 : [(0, 0, 1, 1)];
        long rawBytes = 0, widest = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            long pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            long stride = (pw * bitsPerPixel + 7) / 8;
            rawBytes += (stride + 1) * ph;
            widest = Math.Max(widest, stride);
        }
        if (rawBytes > int.MaxValue / 2 || 3L * width * height > int.MaxValue / 2) throw Bad(source, $"image {width}x{height} is too large");
        var raw = new byte[rawBytes];
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
        var prev = new byte[widest];
        var samples = new int[channels];
        int offset = 0;
        foreach (var (x0, y0, dx, dy) in passes)
        {
            int pw = (width - x0 + dx - 1) / dx, ph = (height - y0 + dy - 1) / dy;
            if (pw <= 0 || ph <= 0) continue;
            int stride = (int)(((long)pw * bitsPerPixel + 7) / 8);
            Array.Clear(prev);
            for (int py = 0; py < ph; py++, offset += stride + 1)
            {
                int filter = raw[offset];
                var row = raw.AsSpan(offset + 1, stride);
                if (filter > 4) throw Bad(source, $"row {py} has filter type {filter} (valid: 0-4)");
                PngFilters.Unfilter(filter, row, prev[..stride], filterBytes);
                int y = y0 + py * dy;
                for (int px = 0; px < pw; px++)
                {
                    for (int c = 0; c < channels; c++) samples[c] = Sample(row, px * channels + c, depth);
                    int pixel = y * width + x0 + px * dx, o = 3 * pixel;
                    switch (colorType)
                    {
                        case 0 or 4: rgb[o] = rgb[o + 1] = rgb[o + 2] = To8(samples[0], depth); break;
                        case 3:
                            int p = 3 * samples[0];
                            if (p + 2 >= palette!.Length) throw Bad(source, $"palette index {samples[0]} outside the PLTE chunk");
                            rgb[o] = palette[p]; rgb[o + 1] = palette[p + 1]; rgb[o + 2] = palette[p + 2];
                            break;
                        default: rgb[o] = To8(samples[0], depth); rgb[o + 1] = To8(samples[1], depth); rgb[o + 2] = To8(samples[2], depth); break;
                    }
                    if (alpha is not null) alpha[pixel] = Alpha(colorType, samples, depth, transparency);
                }
                row.CopyTo(prev);
            }
        }
        return (new RgbImage(width, height, rgb), alpha);
    }

    static readonly (int X0, int Y0, int Dx, int Dy)[] Adam7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)];

    /// <summary>Sample <paramref name="index"/> of a row (sub-byte samples packed from the high bits, 16-bit ones big-endian).</summary>
    static int Sample(ReadOnlySpan<byte> row, int index, int depth) => depth switch
    {
        8 => row[index],
        16 => row[2 * index] << 8 | row[2 * index + 1],
        _ => row[index * depth >> 3] >> (8 - depth - (index * depth & 7)) & ((1 << depth) - 1),
    };

    /// <summary>A gray or colour sample as 8 bits, as PIL unpacks it: 1, 2 and 4 bits scaled to 0-255 (×255, ×85, ×17),
    /// 16 bits by their high byte.</summary>
    static byte To8(int sample, int depth) => depth switch
    {
        8 => (byte)sample,
        16 => (byte)(sample >> 8),
        _ => (byte)(sample * (255 / ((1 << depth) - 1))),
    };

    /// <summary>A pixel's alpha: its own channel, its palette entry's tRNS value (255 past the chunk's end), or 0 where
    /// it is the tRNS colour of a gray or RGB image. As PIL does, the tRNS value (16 bits as stored) is compared with the
    /// 8-bit sample: exact at 8 bits; at 1, 2, 4 or 16 bits PIL's scaled samples rarely meet it, and the pixel stays opaque.</summary>
    static byte Alpha(int colorType, int[] s, int depth, byte[]? transparency) => colorType switch
    {
        4 => To8(s[1], depth),
        6 => To8(s[3], depth),
        3 => s[0] < transparency!.Length ? transparency[s[0]] : (byte)255,
        0 => transparency!.Length >= 2 && To8(s[0], depth) == Tr(transparency, 0) ? (byte)0 : (byte)255,
        _ => transparency!.Length >= 6 && To8(s[0], depth) == Tr(transparency, 0) && To8(s[1], depth) == Tr(transparency, 1)
             && To8(s[2], depth) == Tr(transparency, 2) ? (byte)0 : (byte)255,
    };

    static int Tr(byte[] t, int i) => t[2 * i] << 8 | t[2 * i + 1];

    static MediaException Bad(string source, string problem) => new($"{source}: invalid PNG: {problem}");
}
