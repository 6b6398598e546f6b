using VisualGen.Pipelines.Vae;
using VisualGen.Tensors;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Tiled VAE decoding's arithmetic with fake decoders (nearest upsampling by the scale factor plus a ramp in the tile's
/// own coordinates, so overlapping tiles differ and the blend shows): a hand-computed case, and agreement bit for bit
/// with <see cref="TiledDecodeReference"/>, diffusers' loops written out literally.
/// </summary>
public class VaeTilingTests
{
    static HostTensor Random(int seed, params long[] shape)
    {
        var rng = new Random(seed);
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = 2 * rng.NextSingle() - 1;
        return HostTensor.Float32(v, shape);
    }

    /// <summary>Nearest upsampling of the last two axes by <paramref name="scale"/>, plus 0.1·row − 0.07·column + 0.3·plane
    /// in the tile's own pixels: a decoder whose tiles disagree where they overlap.</summary>
    static Func<HostTensor, HostTensor> FakeDecoder(int scale, List<long[]>? calls = null) => z =>
    {
        calls?.Add(z.Shape);
        long h = z.Shape[^2], w = z.Shape[^1], planes = z.ElementCount / (h * w);
        long H = h * scale, W = w * scale;
        var dst = new float[planes * H * W];
        for (long p = 0; p < planes; p++)
            for (long y = 0; y < H; y++)
                for (long x = 0; x < W; x++)
                    dst[(p * H + y) * W + x] = z.Floats[(p * h + y / scale) * w + x / scale] + 0.1f * y - 0.07f * x + 0.3f * (p % 5);
        return HostTensor.Float32(dst, [.. z.Shape[..^2], H, W]);
    };

    [Fact]
    public void A_row_of_three_tiles_blends_to_hand_computed_values()
    {
        // z = [0 .. 5] on one row; tiles of 4 latent = 4 sample pixels (scale 1), overlap factor 0.5:
        // stride int(4·0.5) = 2, blend_extent 2, row_limit 2; the decoder adds 10 × the tile's own column.
        // tiles [0 11 22 33], [2 13 24 35], [4 15]; blend_h: [22, 0.5·33 + 0.5·13 = 23, 24, 35], then [24, 0.5·35 + 0.5·15 = 25]
        var tiling = new AutoencoderKLTiling { TileSampleMinSize = 4, TileLatentMinSize = 4, TileOverlapFactor = 0.5 };
        var z = HostTensor.Float32([0, 1, 2, 3, 4, 5], 1, 1, 1, 6);
        HostTensor Decoder(HostTensor t) =>
            HostTensor.Float32(t.Floats.Select((v, x) => v + 10 * x).ToArray(), t.Shape);
        var result = tiling.Decode(z, Decoder);
        Assert.Equal(new long[] { 1, 1, 1, 6 }, result.Shape);
        Assert.Equal(new float[] { 0, 11, 22, 23, 24, 25 }, result.Floats);
    }

    [Fact]
    public void AutoencoderKL_tiled_decode_equals_diffusers_loops_bit_for_bit()
    {
        // FLUX's ratios at a small scale: sample 32, latent 4 (scale 8): stride 3, blend 8, row_limit 24
        var z = Random(1, 1, 3, 10, 14);
        var tiling = new AutoencoderKLTiling { TileSampleMinSize = 32, TileLatentMinSize = 4 };
        Assert.Equal((3, 8, 24), (tiling.OverlapSize, tiling.BlendExtent, tiling.RowLimit));
        var calls = new List<long[]>();
        var tiled = tiling.Decode(z, FakeDecoder(8, calls));
        var reference = TiledDecodeReference.AutoencoderKL(z, FakeDecoder(8), 32, 4);
        Assert.Equal(reference.Shape, tiled.Shape);
        Assert.Equal(new long[] { 1, 3, 80, 112 }, tiled.Shape);
        Assert.Equal(reference.Floats, tiled.Floats);
        // rows 0, 3, 6, 9 × columns 0, 3, 6, 9, 12; edge tiles are clipped
        Assert.Equal(20, calls.Count);
        Assert.Equal(new long[] { 1, 3, 1, 2 }, calls[^1]);
    }

    [Theory]
    [InlineData(16, 4, 0.25)]
    [InlineData(24, 6, 0.5)]
    [InlineData(8, 4, 0.3)]
    public void AutoencoderKL_other_tile_sizes_and_overlaps_equal_diffusers_loops(int sample, int latent, double overlap)
    {
        int scale = sample / latent;
        var z = Random(sample + latent, 2, 2, 9, 11);
        var tiling = new AutoencoderKLTiling { TileSampleMinSize = sample, TileLatentMinSize = latent, TileOverlapFactor = overlap };
        var tiled = tiling.Decode(z, FakeDecoder(scale));
        var reference = TiledDecodeReference.AutoencoderKL(z, FakeDecoder(scale), sample, latent, overlap);
        Assert.Equal(reference.Shape, tiled.Shape);
        Assert.Equal(reference.Floats, tiled.Floats);
    }

    [Fact]
    public void A_latent_within_one_tile_is_decoded_in_one_call()
    {
        var tiling = new AutoencoderKLTiling { TileSampleMinSize = 32, TileLatentMinSize = 4 };
        var z = Random(2, 1, 3, 4, 4);
        var calls = new List<long[]>();
        var result = tiling.Decode(z, FakeDecoder(8, calls));
        Assert.Single(calls);
        Assert.Equal(FakeDecoder(8)(z).Floats, result.Floats);
        Assert.False(tiling.Applies(z));
        Assert.True(tiling.Applies(Random(2, 1, 3, 4, 5)));
        Assert.True(tiling.Applies(Random(2, 1, 3, 5, 4)));

        var causal = new CausalVaeTiling { SpatialCompressionRatio = 8, Clamp = true };
        Assert.False(causal.Applies(Random(3, 1, 4, 2, 32, 32)));
        Assert.True(causal.Applies(Random(3, 1, 4, 2, 32, 33)));
    }

    [Fact]
    public void AutoencoderKL_defaults_come_from_sample_size_and_blocks()
    {
        var flux = AutoencoderKLTiling.For(new VisualGen.Pipelines.Flux.AutoencoderKLConfig { SampleSize = 1024, BlockOutChannels = [128, 256, 512, 512] });
        Assert.Equal((1024, 128, 96, 256, 768), (flux.TileSampleMinSize, flux.TileLatentMinSize, flux.OverlapSize, flux.BlendExtent, flux.RowLimit));
    }

    public static TheoryData<int, int?, bool, int, int> CausalCases => new()
    {
        // ratio, patch size, clamp, tile min, stride (sample pixels)
        { 8, null, false, 32, 24 },   // Qwen-Image's rule: no clamp
        { 8, null, true, 32, 24 },    // Wan 2.1
        { 16, 2, true, 64, 48 },      // Wan 2.2 TI2V-5B: blended in patch rows
        { 8, 2, true, 48, 24 },
        { 8, null, true, 256, 192 },  // diffusers' defaults
    };

    [Theory]
    [MemberData(nameof(CausalCases))]
    public void Causal_tiled_decode_equals_diffusers_loops_bit_for_bit(int ratio, int? patch, bool clamp, int min, int stride)
    {
        var z = Random(ratio + min, 1, 3, 2, 11, 9);
        // the fake decoder's output counts as unclamped and unpatchified; scaled so the clamp matters
        var decode = FakeDecoder(ratio);
        HostTensor Loud(HostTensor t) { var o = decode(t); return HostTensor.Float32(o.Floats.Select(v => 0.3f * v).ToArray(), o.Shape); }
        var tiling = new CausalVaeTiling
        {
            TileSampleMinHeight = min, TileSampleMinWidth = min, TileSampleStrideHeight = stride, TileSampleStrideWidth = stride,
            SpatialCompressionRatio = ratio, PatchSize = patch, Clamp = clamp,
        };
        var tiled = tiling.TiledDecode(z, Loud);
        var reference = TiledDecodeReference.Causal(z, Loud, ratio, min, min, stride, stride, patch, clamp);
        Assert.Equal(new long[] { 1, 3, 2, 11 * ratio, 9 * ratio }, tiled.Shape);
        Assert.Equal(reference.Shape, tiled.Shape);
        Assert.Equal(reference.Floats, tiled.Floats);
        if (clamp) Assert.All(tiled.Floats, v => Assert.InRange(v, -1f, 1f));
        else Assert.Contains(tiled.Floats, v => Math.Abs(v) > 1f);
    }

    [Fact]
    public void Tiles_smaller_than_a_latent_pixel_are_refused()
    {
        var z = Random(4, 1, 4, 1, 8, 8);
        var tiling = new CausalVaeTiling { TileSampleMinHeight = 4, TileSampleStrideHeight = 4, SpatialCompressionRatio = 8, Clamp = true };
        var e = Assert.Throws<ArgumentException>(() => tiling.TiledDecode(z, FakeDecoder(8)));
        Assert.Contains("smaller than one latent pixel", e.Message);
        var kl = new AutoencoderKLTiling { TileSampleMinSize = 8, TileLatentMinSize = 1 };
        Assert.Contains("positive stride", Assert.Throws<ArgumentException>(() => kl.TiledDecode(Random(5, 1, 1, 3, 3), FakeDecoder(8))).Message);
    }

    [Fact]
    public void Tiles_are_reported_as_they_decode()
    {
        var tiling = new AutoencoderKLTiling { TileSampleMinSize = 32, TileLatentMinSize = 4 };
        var seen = new List<(int, int)>();
        tiling.Decode(Random(6, 1, 3, 7, 5), FakeDecoder(8), (done, all) => seen.Add((done, all)));
        // rows 0, 3, 6 × columns 0, 3
        Assert.Equal(Enumerable.Range(1, 6).Select(k => (k, 6)), seen);
    }

    /// <summary>A fake encoder: average pooling of the last two axes by <paramref name="ratio"/> (edge blocks over what
    /// is there), times 1 + 0.5·plane, plus 0.05·row − 0.03·column in the tile's own latent pixels, so overlapping
    /// tiles differ.</summary>
    static Func<HostTensor, HostTensor> FakeEncoder(int ratio, List<long[]>? calls = null) => x =>
    {
        calls?.Add(x.Shape);
        long h = x.Shape[^2], w = x.Shape[^1], planes = x.ElementCount / (h * w);
        long H = (h + ratio - 1) / ratio, W = (w + ratio - 1) / ratio;
        var src = x.Floats;
        var dst = new float[planes * H * W];
        for (long p = 0; p < planes; p++)
            for (long y = 0; y < H; y++)
                for (long c = 0; c < W; c++)
                {
                    double sum = 0; int n = 0;
                    for (long dy = y * ratio; dy < Math.Min(h, (y + 1) * ratio); dy++)
                        for (long dx = c * ratio; dx < Math.Min(w, (c + 1) * ratio); dx++) { sum += src[(p * h + dy) * w + dx]; n++; }
                    dst[(p * H + y) * W + c] = (float)(sum / n * (1 + 0.5 * p) + 0.05 * y - 0.03 * c);
                }
        return HostTensor.Float32(dst, [.. x.Shape[..^2], H, W]);
    };

    [Theory]
    [MemberData(nameof(CausalCases))]
    public void Causal_tiled_encode_equals_diffusers_loops_bit_for_bit(int ratio, int? patch, bool clamp, int min, int stride)
    {
        _ = clamp;   // the encode has no clamp
        var x = Random(ratio + min + 1, 1, 3, 5, 11 * ratio, 9 * ratio);
        var calls = new List<long[]>();
        var tiling = new CausalVaeTiling
        {
            TileSampleMinHeight = min, TileSampleMinWidth = min, TileSampleStrideHeight = stride, TileSampleStrideWidth = stride,
            SpatialCompressionRatio = ratio, PatchSize = patch, Clamp = true,
        };
        Assert.Equal(11 * ratio / (patch ?? 1) > min || 9 * ratio / (patch ?? 1) > min, tiling.AppliesToVideo(x));
        var tiled = tiling.TiledEncode(x, FakeEncoder(ratio, calls));
        var reference = TiledDecodeReference.CausalEncode(x, FakeEncoder(ratio), ratio, min, min, stride, stride, patch);
        Assert.Equal(new long[] { 1, 3, 5, 11, 9 }, tiled.Shape);
        Assert.Equal(reference.Shape, tiled.Shape);
        Assert.Equal(reference.Floats, tiled.Floats);
        // windows of tile_sample_min pixels (patches × patch size) every stride, clipped at the edges
        int p = patch ?? 1;
        Assert.All(calls, c => Assert.True(c[3] <= min * p && c[4] <= min * p));
        Assert.Equal((int)Math.Ceiling(11.0 * ratio / p / stride) * (int)Math.Ceiling(9.0 * ratio / p / stride), calls.Count);
    }
}
