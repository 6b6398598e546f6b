namespace VisualGen.Tensors;

/// <summary>Cache-blocked transposes of row-major matrices ([rows, cols] → [cols, rows]) of 1-, 2-, 4- or 8-byte
/// elements, tiles in parallel. What the exporter's [out, in] → [in, out] weights and the engines' re-packing use
/// instead of element-by-element loops over spans.</summary>
public static unsafe class Transpose2d
{
    const int Tile = 64;

    /// <summary>Transposes the [rows, cols] matrix at <paramref name="src"/> (elements of <paramref name="elementSize"/>
    /// bytes) into <paramref name="dst"/> as [cols, rows]. The buffers must not overlap.</summary>
    public static void Run(byte* src, byte* dst, long rows, long cols, int elementSize) => Run(src, cols, dst, rows, cols, elementSize);

    /// <summary>Transposes a [rows, cols] window of a larger row-major matrix (<paramref name="srcRowStride"/> elements
    /// from one source row to the next) into the contiguous [cols, rows] <paramref name="dst"/>.</summary>
    public static void Run(byte* src, long srcRowStride, byte* dst, long rows, long cols, int elementSize)
    {
        switch (elementSize)
        {
            case 1: Typed((byte*)src, srcRowStride, (byte*)dst, rows, cols); break;
            case 2: Typed((ushort*)src, srcRowStride, (ushort*)dst, rows, cols); break;
            case 4: Typed((uint*)src, srcRowStride, (uint*)dst, rows, cols); break;
            case 8: Typed((ulong*)src, srcRowStride, (ulong*)dst, rows, cols); break;
            default: throw new ArgumentException($"element size {elementSize} is not 1, 2, 4 or 8", nameof(elementSize));
        }
    }

    /// <summary>Span form of <see cref="Run(byte*, byte*, long, long, int)"/> (both spans hold rows·cols elements).</summary>
    public static void Run(ReadOnlySpan<byte> src, Span<byte> dst, long rows, long cols, int elementSize)
    {
        long bytes = rows * cols * elementSize;
        if (src.Length < bytes || dst.Length < bytes) throw new ArgumentException($"transpose of [{rows}, {cols}] × {elementSize} B needs {bytes} bytes each way");
        fixed (byte* s = src) fixed (byte* d = dst) Run(s, d, rows, cols, elementSize);
    }

    static void Typed<T>(T* src, long stride, T* dst, long rows, long cols) where T : unmanaged
    {
        long rowTiles = (rows + Tile - 1) / Tile;
        nint s = (nint)src, d = (nint)dst;
        void Band(long rt)
        {
            T* sp = (T*)s, dp = (T*)d;
            long r0 = rt * Tile, r1 = Math.Min(rows, r0 + Tile);
            for (long c0 = 0; c0 < cols; c0 += Tile)
            {
                long c1 = Math.Min(cols, c0 + Tile);
                for (long r = r0; r < r1; r++)
                {
                    T* from = sp + r * stride;
                    for (long c = c0; c < c1; c++) dp[c * rows + r] = from[c];
                }
            }
        }
        if (rows * cols < 1 << 16) { for (long rt = 0; rt < rowTiles; rt++) Band(rt); return; }
        Parallel.For(0L, rowTiles, Band);
    }
}
