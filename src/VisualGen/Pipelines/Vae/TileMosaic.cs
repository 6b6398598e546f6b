using VisualGen.Tensors;

namespace VisualGen.Pipelines.Vae;

/// <summary>
/// The two host operations around tiled decoding: cutting a latent window out of the last two axes (Python's
/// <c>z[..., i : i + h, j : j + w]</c>, clipped at the edges), and joining blended tiles, each cropped to its top-left
/// rows × columns, row by row into one sample (<c>torch.cat</c> of the cropped tiles along width, then height).
/// </summary>
public static class TileMosaic
{
    /// <summary><c>t[..., top : top + height, left : left + width]</c>, clipped to the tensor as Python slicing is.</summary>
    public static HostTensor Window(HostTensor t, long top, long left, long height, long width)
    {
        if (t.Rank < 3) throw new ArgumentException($"need leading axes and [height, width]; got {t.ShapeText}", nameof(t));
        long h = t.Shape[^2], w = t.Shape[^1];
        long rows = Math.Min(height, h - top), cols = Math.Min(width, w - left);
        if (top < 0 || left < 0 || rows < 1 || cols < 1)
            throw new ArgumentOutOfRangeException(nameof(top), $"window at ({top}, {left}) is outside {t.ShapeText}");
        long planes = t.ElementCount / (h * w);
        var src = t.Floats;
        var dst = new float[planes * rows * cols];
        for (long p = 0; p < planes; p++)
            for (long y = 0; y < rows; y++)
                Array.Copy(src, (p * h + top + y) * w + left, dst, (p * rows + y) * cols, cols);
        return HostTensor.Float32(dst, [.. t.Shape[..^2], rows, cols]);
    }

    /// <summary>
    /// Joins <paramref name="rows"/> of tiles, each cropped to at most <paramref name="cropHeight"/> × <paramref name="cropWidth"/>
    /// from its top-left corner, then keeps at most <paramref name="height"/> × <paramref name="width"/> of the result
    /// (diffusers' final crop; pass long.MaxValue for none).
    /// </summary>
    public static HostTensor Join(IReadOnlyList<IReadOnlyList<SampleTile>> rows, int cropHeight, int cropWidth,
        long height = long.MaxValue, long width = long.MaxValue)
    {
        if (rows.Count == 0 || rows[0].Count == 0) throw new ArgumentException("no tiles to join", nameof(rows));
        var first = rows[0][0];
        long planes = first.Planes;
        var rowHeights = rows.Select(r => (long)Math.Min(cropHeight, r[0].Height)).ToArray();
        long fullWidth = rows[0].Sum(t => (long)Math.Min(cropWidth, t.Width));
        foreach (var r in rows)
        {
            if (r.Sum(t => (long)Math.Min(cropWidth, t.Width)) != fullWidth || r.Any(t => Math.Min(cropHeight, t.Height) != Math.Min(cropHeight, r[0].Height) || t.Planes != planes))
                throw new ArgumentException("the tiles of a row must agree in height and planes, and every row in width (torch.cat would refuse them)", nameof(rows));
        }
        long outH = Math.Min(height, rowHeights.Sum()), outW = Math.Min(width, fullWidth);
        var dst = new float[planes * outH * outW];
        long top = 0;
        for (int i = 0; i < rows.Count && top < outH; i++)
        {
            long left = 0;
            foreach (var tile in rows[i])
            {
                int ch = (int)Math.Min(rowHeights[i], outH - top), cw = (int)Math.Min(Math.Min(cropWidth, tile.Width), outW - left);
                for (long p = 0; p < planes; p++)
                    for (int y = 0; y < ch; y++)
                        tile.Row(p, y, cw).CopyTo(dst.AsSpan((int)((p * outH + top + y) * outW + left), cw));
                left += Math.Min(cropWidth, tile.Width);
                if (left >= outW) break;
            }
            top += rowHeights[i];
        }
        return HostTensor.Float32(dst, [.. first.Shape[..^2], outH, outW]);
    }
}
