using VisualGen.Tensors;

namespace VisualGen.Pipelines.Vae;

/// <summary>
/// The tiled decode (and encode: <see cref="TiledEncode"/>) of diffusers' causal video VAEs: <c>AutoencoderKLWan.tiled_decode</c>,
/// <c>AutoencoderKLQwenImage.tiled_decode</c> and <c>AutoencoderKLLTX2Video.tiled_decode</c> (autoencoder_kl_wan.py,
/// autoencoder_kl_qwenimage.py, autoencoder_kl_ltx2.py, after <c>enable_tiling()</c>; LTX-2 decodes a tile's whole clip
/// in one call). The latent [batch, z_dim, frames, h, w] is cut into windows of tile_sample_min / ratio latent
/// pixels every tile_sample_stride / ratio; each window is decoded on its own, frame by frame with a fresh feature cache
/// (the untiled chunk loop on the window), blended into its upper and left neighbours over
/// tile_sample_min − tile_sample_stride sample pixels, cropped to the stride and joined, then cropped to
/// h·ratio × w·ratio. Wan with a patch size blends in patch rows (the decoder's output before unpatchify) and clamps
/// the result to [-1, 1]; Qwen-Image's tiled path does not clamp (its untiled path does). So the tiles must come
/// from the decoder without its clamp.
/// </summary>
public sealed record CausalVaeTiling
{
    /// <summary>tile_sample_min_height / _width (diffusers: 256).</summary>
    public int TileSampleMinHeight { get; init; } = 256;
    public int TileSampleMinWidth { get; init; } = 256;
    /// <summary>tile_sample_stride_height / _width (diffusers: 192).</summary>
    public int TileSampleStrideHeight { get; init; } = 192;
    public int TileSampleStrideWidth { get; init; } = 192;
    /// <summary>spatial_compression_ratio: Wan's scale_factor_spatial, Qwen-Image's 2^len(temperal_downsample).</summary>
    public required int SpatialCompressionRatio { get; init; }
    /// <summary>Wan's patch_size (null: none; Qwen-Image has none).</summary>
    public int? PatchSize { get; init; }
    /// <summary>Whether the joined sample is clamped to [-1, 1] (Wan: yes; Qwen-Image: no).</summary>
    public required bool Clamp { get; init; }

    public int TileLatentMinHeight => TileSampleMinHeight / SpatialCompressionRatio;
    public int TileLatentMinWidth => TileSampleMinWidth / SpatialCompressionRatio;
    public int TileLatentStrideHeight => TileSampleStrideHeight / SpatialCompressionRatio;
    public int TileLatentStrideWidth => TileSampleStrideWidth / SpatialCompressionRatio;

    /// <summary>AutoencoderKLWan's defaults for its config (scale_factor_spatial, patch_size); clamped.</summary>
    public static CausalVaeTiling ForWan(Wan.WanVaeConfig config) => new()
    {
        SpatialCompressionRatio = config.ScaleFactorSpatial ?? 8, PatchSize = config.PatchSize, Clamp = true,
    };

    /// <summary>AutoencoderKLLTX2Video's spatial tiling (tiled_decode after enable_tiling()): 512-pixel tiles every 448,
    /// the whole clip through the decoder per tile, blended and cropped as the causal VAEs' are; not clamped (the decoder
    /// has no clamp: postprocessing clips).</summary>
    public static CausalVaeTiling ForLtx2(int spatialCompression) => new()
    {
        TileSampleMinHeight = 512, TileSampleMinWidth = 512, TileSampleStrideHeight = 448, TileSampleStrideWidth = 448,
        SpatialCompressionRatio = spatialCompression, Clamp = false,
    };

    /// <summary>AutoencoderKLQwenImage's defaults (ratio 2^len(temperal_downsample)); not clamped.</summary>
    public static CausalVaeTiling ForQwenImage(Wan.WanVaeConfig config) => new()
    {
        SpatialCompressionRatio = 1 << config.TemperalDownsample.Length, Clamp = false,
    };

    /// <summary>_decode's test: tiled when the latent is wider or taller than one tile.</summary>
    public bool Applies(HostTensor z) => z.Shape[^1] > TileLatentMinWidth || z.Shape[^2] > TileLatentMinHeight;

    /// <summary>
    /// tiled_decode: <paramref name="decodeTile"/> decodes one latent window [batch, z_dim, frames, th, tw] frame by frame
    /// from a fresh cache, without clamping (unpatchified for a patch size); <paramref name="tileDone"/> hears (tiles
    /// decoded, tiles in all).
    /// </summary>
    public HostTensor TiledDecode(HostTensor z, Func<HostTensor, HostTensor> decodeTile, Action<int, int>? tileDone = null,
        CancellationToken cancellationToken = default)
    {
        if (z.Rank != 5) throw new ArgumentException($"latents must be [batch, z_dim, frames, height, width]; got {z.ShapeText}", nameof(z));
        Check();
        long height = z.Shape[3], width = z.Shape[4];
        int p = PatchSize ?? 1;
        // in the decoder's (patchified) pixels, as diffusers counts them; a patch row is p sample rows here
        long sampleHeight = height * SpatialCompressionRatio / p, sampleWidth = width * SpatialCompressionRatio / p;
        int strideHeight = TileSampleStrideHeight / p, strideWidth = TileSampleStrideWidth / p;
        int blendHeight = TileSampleMinHeight / p - strideHeight, blendWidth = TileSampleMinWidth / p - strideWidth;

        var rows = BlendedTiles(height, width, TileLatentStrideHeight, TileLatentStrideWidth,
            (i, j) => decodeTile(TileMosaic.Window(z, i, j, TileLatentMinHeight, TileLatentMinWidth)), blendHeight, blendWidth, p, tileDone, cancellationToken);
        var joined = TileMosaic.Join(rows, strideHeight * p, strideWidth * p, sampleHeight * p, sampleWidth * p);
        if (!Clamp) return joined;
        var v = joined.Floats;
        for (int k = 0; k < v.Length; k++) v[k] = Math.Clamp(v[k], -1f, 1f);
        return joined;
    }

    /// <summary>_encode's test for a video [batch, channels, frames, height, width]: tiled when its frame (in patches, for a
    /// patch size) is wider or taller than one tile.</summary>
    public bool AppliesToVideo(HostTensor x)
    {
        int p = PatchSize ?? 1;
        return x.Shape[^1] / p > TileSampleMinWidth || x.Shape[^2] / p > TileSampleMinHeight;
    }

    /// <summary>
    /// tiled_encode: the video [batch, 3, frames, height, width] is cut into windows of tile_sample_min pixels every
    /// tile_sample_stride (counted in patches for a patch size, as diffusers tiles the patchified video);
    /// <paramref name="encodeTile"/> encodes one window chunk by chunk from a fresh cache (the latent mean: blending is
    /// linear per channel, so it is the mean half of diffusers' blended moments); the latent tiles are blended into their
    /// upper and left neighbours over (tile_sample_min − tile_sample_stride) / ratio latent pixels, cropped to the stride,
    /// joined and cropped to the latent size. <paramref name="tileDone"/> hears (tiles encoded, tiles in all).
    /// </summary>
    public HostTensor TiledEncode(HostTensor x, Func<HostTensor, HostTensor> encodeTile, Action<int, int>? tileDone = null,
        CancellationToken cancellationToken = default)
    {
        if (x.Rank != 5) throw new ArgumentException($"video must be [batch, channels, frames, height, width]; got {x.ShapeText}", nameof(x));
        Check();
        int p = PatchSize ?? 1;
        if (SpatialCompressionRatio % p != 0)
            throw new ArgumentException($"spatial compression {SpatialCompressionRatio} is not a multiple of the patch size {p}");
        int ratio = SpatialCompressionRatio / p;   // diffusers' encode_spatial_compression_ratio, in patches
        long height = x.Shape[3] / p, width = x.Shape[4] / p;
        int latentMinH = TileSampleMinHeight / ratio, latentMinW = TileSampleMinWidth / ratio;
        int latentStrideH = TileSampleStrideHeight / ratio, latentStrideW = TileSampleStrideWidth / ratio;
        // windows of the patchified video, cut from the video itself: patches are whole p×p pixel blocks
        var rows = BlendedTiles(height, width, TileSampleStrideHeight, TileSampleStrideWidth,
            (i, j) => encodeTile(TileMosaic.Window(x, i * p, j * p, (long)TileSampleMinHeight * p, (long)TileSampleMinWidth * p)),
            latentMinH - latentStrideH, latentMinW - latentStrideW, 1, tileDone, cancellationToken);
        return TileMosaic.Join(rows, latentStrideH, latentStrideW, height / ratio, width / ratio);
    }

    /// <summary>Both loops of a tiled_* method: a tile at every (i, j) of the strides over height × width (reported to
    /// <paramref name="tileDone"/>), then each blended in place into its upper and left neighbours, in diffusers' order.</summary>
    static List<List<SampleTile>> BlendedTiles(long height, long width, int strideHeight, int strideWidth, Func<long, long, HostTensor> tile,
        int blendHeight, int blendWidth, int group, Action<int, int>? tileDone, CancellationToken cancellationToken)
    {
        int rowsCount = (int)((height + strideHeight - 1) / strideHeight), colsCount = (int)((width + strideWidth - 1) / strideWidth);
        var rows = new List<List<SampleTile>>();
        for (long i = 0; i < height; i += strideHeight)
        {
            var row = new List<SampleTile>();
            for (long j = 0; j < width; j += strideWidth)
            {
                cancellationToken.ThrowIfCancellationRequested();
                row.Add(new SampleTile(tile(i, j)));
                tileDone?.Invoke(rows.Count * colsCount + row.Count, rowsCount * colsCount);
            }
            rows.Add(row);
        }
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[i].Count; j++)
            {
                if (i > 0) rows[i][j].BlendFromAbove(rows[i - 1][j], blendHeight, group);
                if (j > 0) rows[i][j].BlendFromLeft(rows[i][j - 1], blendWidth, group);
            }
        return rows;
    }

    void Check()
    {
        if (TileLatentStrideHeight < 1 || TileLatentStrideWidth < 1 || TileLatentMinHeight < 1 || TileLatentMinWidth < 1)
            throw new ArgumentException($"VAE tiles of {TileSampleMinHeight}×{TileSampleMinWidth} sample pixels every {TileSampleStrideHeight}×{TileSampleStrideWidth} " +
                $"are smaller than one latent pixel at spatial compression {SpatialCompressionRatio}");
        if (PatchSize is int p && (TileSampleStrideHeight % p != 0 || TileSampleStrideWidth % p != 0 || TileSampleMinHeight % p != 0 || TileSampleMinWidth % p != 0))
            throw new ArgumentException($"VAE tile sizes and strides must be multiples of the patch size {p}");
    }
}
