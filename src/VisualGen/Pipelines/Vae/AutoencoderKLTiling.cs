using VisualGen.Pipelines.Flux;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Vae;

/// <summary>
/// diffusers' <c>AutoencoderKL.tiled_decode</c> (autoencoder_kl.py, after <c>enable_tiling()</c>): the latent is cut into
/// overlapping squares of <see cref="TileLatentMinSize"/> starting every <see cref="OverlapSize"/> latent pixels, each
/// decoded on its own (post_quant_conv and decoder: one call of the decoder graph), each blended into the tile above
/// and the one to its left over <see cref="BlendExtent"/> sample pixels, cropped to <see cref="RowLimit"/> and joined.
/// The attributes keep diffusers' names and defaults (tile_sample_min_size = sample_size, tile_latent_min_size =
/// sample_size / 2^(blocks − 1), tile_overlap_factor 0.25); set them for other tile sizes.
/// </summary>
public sealed record AutoencoderKLTiling
{
    /// <summary>tile_sample_min_size: a decoded tile's side in sample pixels (config sample_size).</summary>
    public required int TileSampleMinSize { get; init; }
    /// <summary>tile_latent_min_size: a tile's side in latent pixels; larger latents are decoded tiled.</summary>
    public required int TileLatentMinSize { get; init; }
    /// <summary>tile_overlap_factor.</summary>
    public double TileOverlapFactor { get; init; } = 0.25;

    /// <summary>int(tile_latent_min_size · (1 − overlap)): the latent stride between tiles.</summary>
    public int OverlapSize => (int)(TileLatentMinSize * (1 - TileOverlapFactor));
    /// <summary>int(tile_sample_min_size · overlap): sample rows/columns blended between neighbours.</summary>
    public int BlendExtent => (int)(TileSampleMinSize * TileOverlapFactor);
    /// <summary>tile_sample_min_size − blend_extent: the rows/columns each tile keeps.</summary>
    public int RowLimit => TileSampleMinSize - BlendExtent;

    /// <summary>The defaults <c>AutoencoderKL.__init__</c> sets from config.json (sample_size, block_out_channels).</summary>
    public static AutoencoderKLTiling For(AutoencoderKLConfig config) => new()
    {
        TileSampleMinSize = config.SampleSize,
        TileLatentMinSize = (int)(config.SampleSize / (double)(1 << (config.BlockOutChannels.Length - 1))),
    };

    /// <summary>_decode's test: tiled when the latent is wider or taller than one tile.</summary>
    public bool Applies(HostTensor z) => z.Shape[^1] > TileLatentMinSize || z.Shape[^2] > TileLatentMinSize;

    /// <summary>
    /// _decode with use_tiling: <see cref="TiledDecode"/> when <see cref="Applies"/>, else one call of
    /// <paramref name="decode"/> on the whole latent.
    /// </summary>
    public HostTensor Decode(HostTensor z, Func<HostTensor, HostTensor> decode, Action<int, int>? tileDone = null,
        CancellationToken cancellationToken = default) =>
        Applies(z) ? TiledDecode(z, decode, tileDone, cancellationToken) : decode(z);

    /// <summary>tiled_decode: <paramref name="z"/> [batch, latent_channels, h, w] (post_quant_conv not yet applied: the
    /// decoder graph applies it per tile); <paramref name="decode"/> decodes one latent tile; <paramref name="tileDone"/>
    /// hears (tiles decoded, tiles in all).</summary>
    public HostTensor TiledDecode(HostTensor z, Func<HostTensor, HostTensor> decode, Action<int, int>? tileDone = null,
        CancellationToken cancellationToken = default)
    {
        Check();
        long height = z.Shape[^2], width = z.Shape[^1];
        int rowsCount = (int)((height + OverlapSize - 1) / OverlapSize), colsCount = (int)((width + OverlapSize - 1) / OverlapSize);
        // split z into overlapping tiles and decode them separately
        var rows = new List<List<SampleTile>>();
        for (long i = 0; i < height; i += OverlapSize)
        {
            var row = new List<SampleTile>();
            for (long j = 0; j < width; j += OverlapSize)
            {
                cancellationToken.ThrowIfCancellationRequested();
                row.Add(new SampleTile(decode(TileMosaic.Window(z, i, j, TileLatentMinSize, TileLatentMinSize))));
                tileDone?.Invoke(rows.Count * colsCount + row.Count, rowsCount * colsCount);
            }
            rows.Add(row);
        }
        // blend the above tile and the left tile into the current tile, then keep its top-left row_limit square
        for (int i = 0; i < rows.Count; i++)
            for (int j = 0; j < rows[i].Count; j++)
            {
                if (i > 0) rows[i][j].BlendFromAbove(rows[i - 1][j], BlendExtent);
                if (j > 0) rows[i][j].BlendFromLeft(rows[i][j - 1], BlendExtent);
            }
        return TileMosaic.Join(rows, RowLimit, RowLimit);
    }

    void Check()
    {
        if (TileLatentMinSize < 1 || TileSampleMinSize < 1 || OverlapSize < 1)
            throw new ArgumentException($"VAE tiling needs tiles of at least one latent pixel and a positive stride; tile_latent_min_size {TileLatentMinSize}, " +
                $"tile_sample_min_size {TileSampleMinSize}, tile_overlap_factor {TileOverlapFactor} give a stride of {OverlapSize}");
    }
}
