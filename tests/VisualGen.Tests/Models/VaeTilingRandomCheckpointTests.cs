using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Models.Shared.Vae;
using VisualGen.Exporter.Models.Wan.Vae;
using VisualGen.Pipelines.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;
using Xunit.Abstractions;
using KLConfig = VisualGen.Pipelines.Flux.AutoencoderKLConfig;

namespace VisualGen.Tests.Models;

/// <summary>
/// Tiled decoding on small random VAEs through ONNX Runtime CPU, with small tiles: close to the untiled decode (the
/// tiles see less context, so not equal), equal to diffusers' loops (<see cref="TiledDecodeReference"/>) run on the same
/// engine's tile outputs, and equal to the untiled decode for a latent within one tile.
/// </summary>
public class VaeTilingRandomCheckpointTests(ITestOutputHelper output)
{
    static HostTensor Random(int seed, params long[] shape)
    {
        var rng = new Random(seed);
        var v = new float[shape.Aggregate(1L, (a, b) => a * b)];
        for (int i = 0; i < v.Length; i++) v[i] = 2 * rng.NextSingle() - 1;
        return HostTensor.Float32(v, shape);
    }

    /// <summary>Tiled vs untiled: random decoders are less local than trained ones (their tile borders' zero padding
    /// reaches further into a tile), so the tiles are 32 latent pixels and the attention output is damped; measured
    /// cosines: AutoencoderKL 0.9921 and 0.9931, Wan residual 0.9959, Wan plain 0.9852.</summary>
    void Close(HostTensor untiled, HostTensor tiled, string what, double minCosine = 0.99)
    {
        Assert.Equal(untiled.Shape, tiled.Shape);
        double cos = Compare.Cosine(untiled.Floats, tiled.Floats);
        output.WriteLine($"{what}: tiled vs untiled cosine {cos:F6}, max abs {Compare.MaxAbs(untiled.Floats, tiled.Floats):g3}");
        Assert.True(cos > minCosine, $"{what}: tiled vs untiled cosine {cos:F6}");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AutoencoderKL_tiled_decode_through_onnx_runtime(bool postQuantConv)
    {
        string dir = new AutoencoderKLRandomCheckpoint { BlockOutChannels = [8, 8, 16], SampleSize = 128, UsePostQuantConv = postQuantConv, AttentionOutputScale = 0.05f }
            .Write(Fixtures.TempDir("klvae"), seed: postQuantConv ? 3 : 4);
        var config = KLConfig.Read(dir);
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(AutoencoderKL.TraceDecoder(dir, weights), "vae.decoder");
        HostTensor Decode(HostTensor z) => engine.Run(new Dictionary<string, HostTensor> { [AutoencoderKL.LatentsInput] = z })[AutoencoderKL.SampleOutput];

        // sample_size 128, three blocks: tiles of 32 latent pixels, stride 24, blend 32, row_limit 96
        var tiling = AutoencoderKLTiling.For(config);
        Assert.Equal((128, 32, 24, 32, 96), (tiling.TileSampleMinSize, tiling.TileLatentMinSize, tiling.OverlapSize, tiling.BlendExtent, tiling.RowLimit));
        var z = Random(7, 1, 4, 50, 58);
        var tiled = tiling.Decode(z, Decode);
        Assert.Equal(new long[] { 1, 3, 200, 232 }, tiled.Shape);
        Close(Decode(z), tiled, $"AutoencoderKL (post_quant_conv {postQuantConv})");
        Assert.Equal(TiledDecodeReference.AutoencoderKL(z, Decode, 128, 32).Floats, tiled.Floats);

        // within one tile: the untiled decode, exactly
        var small = Random(8, 1, 4, 32, 21);
        Assert.Equal(Decode(small).Floats, tiling.Decode(small, Decode).Floats);
    }

    public static TheoryData<string> WanVariants => ["plain", "residual"];

    /// <summary>"plain": Wan 2.1's VAE; "residual": Wan 2.2's (residual blocks, patch size 2, a wider decoder).</summary>
    static WanVaeRandomCheckpoint WanCheckpoint(string variant) => variant == "plain"
        ? new WanVaeRandomCheckpoint { BaseDim = 4, ZDim = 4, DimMult = [1, 2, 3], NumResBlocks = 1, TemperalDownsample = [true, true], AttentionOutputScale = 0.05f }
        : new WanVaeRandomCheckpoint
        {
            BaseDim = 4, DecoderBaseDim = 6, ZDim = 8, DimMult = [1, 2, 2], NumResBlocks = 1, TemperalDownsample = [true, true],
            IsResidual = true, PatchSize = 2, AttentionOutputScale = 0.05f,
        };

    [Theory]
    [MemberData(nameof(WanVariants))]
    public void Wan_vae_tiled_decode_through_onnx_runtime(string variant)
    {
        var checkpoint = WanCheckpoint(variant);
        string dir = checkpoint.Write(Fixtures.TempDir("wanvae"), seed: variant.Length);
        var config = WanVaeConfig.Read(dir);
        int ratio = 4 * (config.PatchSize ?? 1);
        using var vae = new WanVaeEngines(dir);
        var clamped = new WanVaeDecoder(vae.Decoder(WanChunk.First), vae.Decoder(WanChunk.Next));
        var unclamped = new WanVaeDecoder(vae.UnclampedDecoder(WanChunk.First), vae.UnclampedDecoder(WanChunk.Next));
        HostTensor DecodeTile(HostTensor z) => unclamped.Decode(z);

        var z = Random(9, 1, config.ZDim, 2, 50, 58);
        var untiled = clamped.Decode(z);
        // the unclamped graphs are the clamped ones without their last step
        Assert.Equal(untiled.Floats, DecodeTile(z).Floats.Select(v => Math.Clamp(v, -1f, 1f)).ToArray());

        // tiles of 32 latent pixels every 24: 8·ratio sample pixels blended (in patch rows for the patch size)
        foreach (bool clamp in new[] { true, false })
        {
            var tiling = new CausalVaeTiling
            {
                TileSampleMinHeight = 32 * ratio, TileSampleMinWidth = 32 * ratio, TileSampleStrideHeight = 24 * ratio, TileSampleStrideWidth = 24 * ratio,
                SpatialCompressionRatio = ratio, PatchSize = config.PatchSize, Clamp = clamp,
            };
            Assert.True(tiling.Applies(z));
            var tiled = tiling.TiledDecode(z, DecodeTile);
            Assert.Equal(new long[] { 1, 3, 5, 50 * ratio, 58 * ratio }, tiled.Shape);
            if (clamp) Close(untiled, tiled, $"Wan VAE {variant}", variant == "plain" ? 0.98 : 0.99);
            var reference = TiledDecodeReference.Causal(z, DecodeTile, ratio, 32 * ratio, 32 * ratio, 24 * ratio, 24 * ratio, config.PatchSize, clamp);
            Assert.Equal(reference.Floats, tiled.Floats);
        }
    }

    [Theory]
    [MemberData(nameof(WanVariants))]
    public void Wan_vae_tiled_encode_through_onnx_runtime(string variant)
    {
        var checkpoint = WanCheckpoint(variant);
        string dir = checkpoint.Write(Fixtures.TempDir("wanvae-enc"), seed: 3 + variant.Length);
        var config = WanVaeConfig.Read(dir);
        int ratio = 4 * (config.PatchSize ?? 1);
        using var vae = new WanVaeEngines(dir);
        var encoder = new WanVaeEncoder(vae.Encoder(WanChunk.First), vae.Encoder(WanChunk.Next));
        HostTensor EncodeTile(HostTensor x) => encoder.Encode(x);

        var video = Random(11, 1, 3, 5, 40 * ratio, 46 * ratio);
        var untiled = encoder.Encode(video);
        var tiling = new CausalVaeTiling
        {
            TileSampleMinHeight = 32 * ratio / (config.PatchSize ?? 1), TileSampleMinWidth = 32 * ratio / (config.PatchSize ?? 1),
            TileSampleStrideHeight = 24 * ratio / (config.PatchSize ?? 1), TileSampleStrideWidth = 24 * ratio / (config.PatchSize ?? 1),
            SpatialCompressionRatio = ratio, PatchSize = config.PatchSize, Clamp = true,
        };
        Assert.True(tiling.AppliesToVideo(video));
        var tiled = tiling.TiledEncode(video, EncodeTile);
        Assert.Equal(untiled.Shape, tiled.Shape);
        Close(untiled, tiled, $"Wan VAE encode {variant}", 0.98);
        var reference = TiledDecodeReference.CausalEncode(video, EncodeTile, ratio, tiling.TileSampleMinHeight, tiling.TileSampleMinWidth,
            tiling.TileSampleStrideHeight, tiling.TileSampleStrideWidth, config.PatchSize);
        Assert.Equal(reference.Floats, tiled.Floats);

        // a video within one tile is not tiled: the same encode
        var small = Random(12, 1, 3, 1, 16 * ratio, 20 * ratio);
        Assert.False(tiling.AppliesToVideo(small));
        Assert.Equal(encoder.Encode(small).Floats, tiling.TiledEncode(small, EncodeTile).Floats);
    }
}
