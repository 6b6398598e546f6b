using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// diffusers' tiled_decode (and the causal VAEs' tiled_encode) written out literally, independently of <c>SampleTile</c>/<c>TileMosaic</c>: tensors as
/// [planes][rows][columns] arrays, blend_v/blend_h as the Python loops (assigning into b in place, a read through
/// negative indices), the crops and torch.cat as copies. For the causal VAEs with a patch size the tile is patchified
/// first (diffusers blends the decoder's patched output) and the joined result unpatchified, with diffusers' own
/// view/permute formulas.
/// </summary>
static class TiledDecodeReference
{
    /// <summary>AutoencoderKL.tiled_decode; z [B, C, h, w].</summary>
    public static HostTensor AutoencoderKL(HostTensor z, Func<HostTensor, HostTensor> decoder, int tileSampleMinSize, int tileLatentMinSize,
        double tileOverlapFactor = 0.25)
    {
        int overlapSize = (int)(tileLatentMinSize * (1 - tileOverlapFactor));
        int blendExtent = (int)(tileSampleMinSize * tileOverlapFactor);
        int rowLimit = tileSampleMinSize - blendExtent;
        var rows = new List<List<Planes>>();
        for (int i = 0; i < z.Shape[2]; i += overlapSize)
        {
            var row = new List<Planes>();
            for (int j = 0; j < z.Shape[3]; j += overlapSize)
                row.Add(Planes.Of(decoder(Slice(z, i, i + tileLatentMinSize, j, j + tileLatentMinSize))));
            rows.Add(row);
        }
        return BlendAndJoin(rows, blendExtent, blendExtent, rowLimit, rowLimit).ToTensor();
    }

    /// <summary>AutoencoderKLWan / AutoencoderKLQwenImage.tiled_decode; z [B, C, F, h, w]; decodeTile returns the decoder's
    /// unclamped, unpatchified output for a latent window.</summary>
    public static HostTensor Causal(HostTensor z, Func<HostTensor, HostTensor> decodeTile, int ratio, int minH, int minW, int strideH, int strideW,
        int? patchSize, bool clamp)
    {
        long height = z.Shape[3], width = z.Shape[4];
        long sampleHeight = height * ratio, sampleWidth = width * ratio;
        int latentMinH = minH / ratio, latentMinW = minW / ratio, latentStrideH = strideH / ratio, latentStrideW = strideW / ratio;
        int sampleStrideH = strideH, sampleStrideW = strideW, blendHeight, blendWidth;
        int p = patchSize ?? 1;
        if (patchSize is not null)
        {
            sampleHeight /= p; sampleWidth /= p;
            sampleStrideH /= p; sampleStrideW /= p;
            blendHeight = minH / p - sampleStrideH;
            blendWidth = minW / p - sampleStrideW;
        }
        else
        {
            blendHeight = minH - sampleStrideH;
            blendWidth = minW - sampleStrideW;
        }
        var rows = new List<List<Planes>>();
        for (int i = 0; i < height; i += latentStrideH)
        {
            var row = new List<Planes>();
            for (int j = 0; j < width; j += latentStrideW)
            {
                row.Add(Planes.Of(Patchify(decodeTile(Slice(z, i, i + latentMinH, j, j + latentMinW)), p)));
            }
            rows.Add(row);
        }
        var dec = BlendAndJoin(rows, blendHeight, blendWidth, sampleStrideH, sampleStrideW).Crop((int)sampleHeight, (int)sampleWidth);
        var t = Unpatchify(dec.ToTensor(), p);
        if (clamp) { var v = t.Floats; for (int k = 0; k < v.Length; k++) v[k] = Math.Min(Math.Max(v[k], -1f), 1f); }
        return t;
    }

    /// <summary>AutoencoderKLWan.tiled_encode; x [B, 3, F, H, W] in pixels. diffusers patchifies x first and slices the
    /// patchified video; encodeTile takes a pixel window (our encoder graphs patchify inside), so each slice is
    /// unpatchified back before it is encoded.</summary>
    public static HostTensor CausalEncode(HostTensor x, Func<HostTensor, HostTensor> encodeTile, int ratio, int minH, int minW, int strideH,
        int strideW, int? patchSize)
    {
        int p = patchSize ?? 1;
        var xp = Patchify(x, p);
        int ecr = ratio / p;
        long height = xp.Shape[3], width = xp.Shape[4];
        long latentHeight = height / ecr, latentWidth = width / ecr;
        int tileLatentMinH = minH / ecr, tileLatentMinW = minW / ecr, tileLatentStrideH = strideH / ecr, tileLatentStrideW = strideW / ecr;
        int blendHeight = tileLatentMinH - tileLatentStrideH, blendWidth = tileLatentMinW - tileLatentStrideW;
        var rows = new List<List<Planes>>();
        for (int i = 0; i < height; i += strideH)
        {
            var row = new List<Planes>();
            for (int j = 0; j < width; j += strideW)
                row.Add(Planes.Of(encodeTile(Unpatchify(Slice(xp, i, i + minH, j, j + minW), p))));
            rows.Add(row);
        }
        return BlendAndJoin(rows, blendHeight, blendWidth, tileLatentStrideH, tileLatentStrideW).Crop((int)latentHeight, (int)latentWidth).ToTensor();
    }

    /// <summary>The second half of every tiled_* loop: blend each tile into its upper and left neighbours (in place, in
    /// diffusers' order), crop it to cropHeight × cropWidth, torch.cat along width, then height.</summary>
    static Planes BlendAndJoin(List<List<Planes>> rows, int blendHeight, int blendWidth, int cropHeight, int cropWidth)
    {
        var resultRows = new List<Planes>();
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            var resultRow = new List<Planes>();
            for (int j = 0; j < row.Count; j++)
            {
                var tile = row[j];
                if (i > 0) tile = BlendV(rows[i - 1][j], tile, blendHeight);
                if (j > 0) tile = BlendH(row[j - 1], tile, blendWidth);
                resultRow.Add(tile.Crop(cropHeight, cropWidth));
            }
            resultRows.Add(Planes.CatWidth(resultRow));
        }
        return Planes.CatHeight(resultRows);
    }

    static Planes BlendV(Planes a, Planes b, int blendExtent)
    {
        blendExtent = Math.Min(Math.Min(a.Height, b.Height), blendExtent);
        for (int y = 0; y < blendExtent; y++)
            for (int p = 0; p < b.Data.Length; p++)
                for (int x = 0; x < b.Width; x++)
                    b.Data[p][y][x] = a.Data[p][a.Height - blendExtent + y][x] * (float)(1 - (double)y / blendExtent) + b.Data[p][y][x] * (float)((double)y / blendExtent);
        return b;
    }

    static Planes BlendH(Planes a, Planes b, int blendExtent)
    {
        blendExtent = Math.Min(Math.Min(a.Width, b.Width), blendExtent);
        for (int x = 0; x < blendExtent; x++)
            for (int p = 0; p < b.Data.Length; p++)
                for (int y = 0; y < b.Height; y++)
                    b.Data[p][y][x] = a.Data[p][y][a.Width - blendExtent + x] * (float)(1 - (double)x / blendExtent) + b.Data[p][y][x] * (float)((double)x / blendExtent);
        return b;
    }

    /// <summary>z[..., r0:r1, c0:c1] (Python slicing clips at the end).</summary>
    static HostTensor Slice(HostTensor z, int r0, int r1, int c0, int c1)
    {
        var planes = Planes.Of(z);
        r1 = Math.Min(r1, planes.Height); c1 = Math.Min(c1, planes.Width);
        var data = planes.Data.Select(pl => pl[r0..r1].Select(r => r[c0..c1]).ToArray()).ToArray();
        return HostTensor.Float32(new Planes(data).Flatten(), [.. z.Shape[..^2], r1 - r0, c1 - c0]);
    }

    /// <summary>diffusers' patchify: view(b, c, f, h/p, p, w/p, p).permute(0, 1, 6, 4, 2, 3, 5).</summary>
    static HostTensor Patchify(HostTensor x, int p)
    {
        if (p == 1) return x;
        long b = x.Shape[0], c = x.Shape[1], f = x.Shape[2], h = x.Shape[3] / p, w = x.Shape[4] / p;
        var src = x.Floats;
        var dst = new float[src.Length];
        // out[b, c, r (w-offset), q (h-offset), f, hh, ww] = in[b, c, f, hh·p + q, ww·p + r]
        long o = 0;
        for (long bi = 0; bi < b; bi++)
            for (long ci = 0; ci < c; ci++)
                for (long r = 0; r < p; r++)
                    for (long q = 0; q < p; q++)
                        for (long fi = 0; fi < f; fi++)
                            for (long hh = 0; hh < h; hh++)
                                for (long ww = 0; ww < w; ww++)
                                    dst[o++] = src[(((bi * c + ci) * f + fi) * h * p + hh * p + q) * w * p + ww * p + r];
        return HostTensor.Float32(dst, b, c * p * p, f, h, w);
    }

    /// <summary>diffusers' unpatchify: view(b, c, p, p, f, h, w).permute(0, 1, 4, 5, 3, 6, 2).</summary>
    static HostTensor Unpatchify(HostTensor x, int p)
    {
        if (p == 1) return x;
        long b = x.Shape[0], c = x.Shape[1] / (p * p), f = x.Shape[2], h = x.Shape[3], w = x.Shape[4];
        var src = x.Floats;
        var dst = new float[src.Length];
        // out[b, c, f, hh, q, ww, r] = in[b, c, r, q, f, hh, ww]
        long o = 0;
        for (long bi = 0; bi < b; bi++)
            for (long ci = 0; ci < c; ci++)
                for (long fi = 0; fi < f; fi++)
                    for (long hh = 0; hh < h; hh++)
                        for (long q = 0; q < p; q++)
                            for (long ww = 0; ww < w; ww++)
                                for (long r = 0; r < p; r++)
                                    dst[o++] = src[((((bi * c + ci) * p + r) * p + q) * f + fi) * h * w + hh * w + ww];
        return HostTensor.Float32(dst, b, c, f, h * p, w * p);
    }

    /// <summary>A tensor as planes of rows of columns (its leading axes flattened).</summary>
    sealed class Planes(float[][][] data)
    {
        public float[][][] Data { get; } = data;
        public int Height => Data[0].Length;
        public int Width => Data[0][0].Length;
        public long[] Lead { get; init; } = [];

        public static Planes Of(HostTensor t)
        {
            int h = (int)t.Shape[^2], w = (int)t.Shape[^1];
            long n = t.ElementCount / (h * w);
            var v = t.Floats;
            var data = new float[n][][];
            for (long p = 0; p < n; p++)
            {
                data[p] = new float[h][];
                for (int y = 0; y < h; y++) data[p][y] = v.AsSpan((int)((p * h + y) * w), w).ToArray();
            }
            return new Planes(data) { Lead = t.Shape[..^2] };
        }

        public Planes Crop(int rows, int cols) =>
            new(Data.Select(pl => pl.Take(rows).Select(r => r.Take(cols).ToArray()).ToArray()).ToArray()) { Lead = Lead };

        public static Planes CatWidth(List<Planes> parts) =>
            new(Enumerable.Range(0, parts[0].Data.Length).Select(p =>
                Enumerable.Range(0, parts[0].Height).Select(y => parts.SelectMany(t => t.Data[p][y]).ToArray()).ToArray()).ToArray()) { Lead = parts[0].Lead };

        public static Planes CatHeight(List<Planes> parts) =>
            new(Enumerable.Range(0, parts[0].Data.Length).Select(p => parts.SelectMany(t => t.Data[p]).ToArray()).ToArray()) { Lead = parts[0].Lead };

        public float[] Flatten() => Data.SelectMany(pl => pl.SelectMany(r => r)).ToArray();

        public HostTensor ToTensor() => HostTensor.Float32(Flatten(), [.. Lead, Height, Width]);
    }
}
