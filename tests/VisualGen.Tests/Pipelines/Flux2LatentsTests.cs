using VisualGen.Pipelines.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>Flux2Pipeline's latent layouts, position ids and the VAE's batch-norm statistics: against the flux2
/// goldens (the final packed latents become the VAE decoder's input; the transformer's ids) and on small grids whose
/// every value is distinct, so a swapped axis cannot pass.</summary>
public class Flux2LatentsTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Final_latents_denormalized_unpacked_and_unpatchified_are_the_vae_decoder_input()
    {
        using var golden = Fixtures.Golden("flux2");
        string vae = Path.Combine(Fixtures.Checkpoint("flux2"), "vae");
        var stats = Flux2LatentStats.Load(vae, AutoencoderKLFlux2Config.Read(vae));
        var final = Fixtures.GoldenTensor(golden, "pipeline.latents_final");
        var init = Fixtures.GoldenTensor(golden, "pipeline.latents_init");
        var decoderIn = Flux2Latents.Unpatchify(Flux2Latents.Unpack(stats.Denormalize(final), init.Shape[2], init.Shape[3]));
        var expected = Fixtures.GoldenTensor(golden, "vae.decode.in.arg0");
        Assert.Equal(expected.Shape, decoderIn.Shape);
        output.WriteLine($"vae.decode.in: max abs error {Compare.MaxAbs(expected.Floats, decoderIn.Floats):g3}");
        Compare.Component(expected.Floats, decoderIn.Floats, "flux2 vae.decode.in");
        // without the batch-norm the values differ: the statistics are exercised
        var plain = Flux2Latents.Unpatchify(Flux2Latents.Unpack(final, init.Shape[2], init.Shape[3]));
        Assert.True(Compare.MaxAbs(expected.Floats, plain.Floats) > 1e-2);
    }

    [ConformanceFact]
    public void Initial_latents_pack_into_the_transformer_input_and_ids_match()
    {
        using var golden = Fixtures.Golden("flux2");
        var init = Fixtures.GoldenTensor(golden, "pipeline.latents_init");
        var packed = Flux2Latents.Pack(init);
        Assert.Equal(Fixtures.GoldenTensor(golden, "transformer.in.hidden_states").Floats, packed.Floats);
        var imgIds = Fixtures.GoldenTensor(golden, "transformer.in.img_ids");
        Assert.Equal(imgIds.Longs.Select(v => (float)v), Flux2Latents.ImageIds(init.Shape[2], init.Shape[3]).Floats);
        var txtIds = Fixtures.GoldenTensor(golden, "transformer.in.txt_ids");
        Assert.Equal(txtIds.Longs.Select(v => (float)v), Flux2Latents.TextIds(txtIds.Shape[1]).Floats);
    }

    [Fact]
    public void Unpatchify_moves_each_channel_quad_into_a_2x2_patch()
    {
        // [1, 8, 2, 3]: channel 4c + 2dy + dx at (y, x) lands at (2y + dy, 2x + dx) of channel c
        var src = HostTensor.Float32(Enumerable.Range(0, 48).Select(i => (float)i).ToArray(), 1, 8, 2, 3);
        var dst = Flux2Latents.Unpatchify(src);
        Assert.Equal([1L, 2, 4, 6], dst.Shape);
        for (int c = 0; c < 2; c++)
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++)
                    for (int y = 0; y < 2; y++)
                        for (int x = 0; x < 3; x++)
                            Assert.Equal(src.Floats[((4 * c + 2 * dy + dx) * 2 + y) * 3 + x], dst.Floats[(c * 4 + 2 * y + dy) * 6 + 2 * x + dx]);
        var packed = Flux2Latents.Pack(src);
        Assert.Equal([1L, 6, 8], packed.Shape);
        Assert.Equal(src.Floats, Flux2Latents.Unpack(packed, 2, 3).Floats);
        Assert.Throws<ArgumentException>(() => Flux2Latents.Unpack(packed, 3, 3));
    }
}
