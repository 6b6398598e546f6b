namespace VisualGen.Media;

/// <summary>The five PNG row filters (specification §9) and their inverses; bpp is bytes per pixel.</summary>
static class PngFilters
{
    public static byte Paeth(byte a, byte b, byte c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    public static void Filter(int type, ReadOnlySpan<byte> row, ReadOnlySpan<byte> prev, int bpp, Span<byte> output)
    {
        for (int i = 0; i < row.Length; i++)
        {
            byte a = i >= bpp ? row[i - bpp] : (byte)0, b = prev[i], c = i >= bpp ? prev[i - bpp] : (byte)0;
            output[i] = type switch
            {
                0 => row[i],
                1 => (byte)(row[i] - a),
                2 => (byte)(row[i] - b),
                3 => (byte)(row[i] - ((a + b) >> 1)),
                _ => (byte)(row[i] - Paeth(a, b, c)),
            };
        }
    }

    /// <summary>Reverses filter <paramref name="type"/> in place on <paramref name="row"/> (already-decoded <paramref name="prev"/>).</summary>
    public static void Unfilter(int type, Span<byte> row, ReadOnlySpan<byte> prev, int bpp)
    {
        for (int i = 0; i < row.Length; i++)
        {
            byte a = i >= bpp ? row[i - bpp] : (byte)0, b = prev[i], c = i >= bpp ? prev[i - bpp] : (byte)0;
            row[i] = type switch
            {
                0 => row[i],
                1 => (byte)(row[i] + a),
                2 => (byte)(row[i] + b),
                3 => (byte)(row[i] + ((a + b) >> 1)),
                4 => (byte)(row[i] + Paeth(a, b, c)),
                _ => throw new InvalidDataException($"row filter type {type} (valid: 0-4)"),
            };
        }
    }
}
