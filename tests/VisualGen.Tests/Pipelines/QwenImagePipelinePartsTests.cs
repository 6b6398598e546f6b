using VisualGen.Pipelines;
using VisualGen.Pipelines.QwenImage;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Qwen-Image pipeline pieces against independent computations: packing by the index formula of
/// diffusers' view/permute, true CFG against a float64 evaluation, prompt embeds against the golden.</summary>
public class QwenImagePipelinePartsTests
{
    [Fact]
    public void Pack_places_each_2x2_patch_channel_major_and_unpack_inverts_it()
    {
        const int b = 2, c = 3, h = 4, w = 6;
        var data = Enumerable.Range(0, b * c * h * w).Select(i => (float)i).ToArray();
        var packed = LatentPacking.Pack(HostTensor.Float32(data, b, c, h, w));
        Assert.Equal(new long[] { b, h / 2 * (w / 2), c * 4 }, packed.Shape);
        // view(b, c, h/2, 2, w/2, 2).permute(0, 2, 4, 1, 3, 5): token (y, x), feature (ci, dy, dx)
        for (int bi = 0; bi < b; bi++)
            for (int y = 0; y < h / 2; y++)
                for (int x = 0; x < w / 2; x++)
                    for (int ci = 0; ci < c; ci++)
                        for (int dy = 0; dy < 2; dy++)
                            for (int dx = 0; dx < 2; dx++)
                            {
                                int token = y * (w / 2) + x, feature = ci * 4 + dy * 2 + dx;
                                float expected = data[((bi * c + ci) * h + 2 * y + dy) * w + 2 * x + dx];
                                Assert.Equal(expected, packed.Floats[(bi * (h / 2 * (w / 2)) + token) * c * 4 + feature]);
                            }
        Assert.Equal(data, LatentPacking.Unpack(packed, h, w).Floats);
        Assert.Throws<ArgumentException>(() => LatentPacking.Unpack(packed, h, w + 2));
    }

    [Fact]
    public void True_cfg_rescales_each_token_to_the_conditional_norm()
    {
        var rng = new Random(7);
        const int tokens = 5, channels = 8;
        var cond = Enumerable.Range(0, tokens * channels).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var neg = Enumerable.Range(0, tokens * channels).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        const float scale = 4f;
        var actual = TrueCfg.Combine(cond, neg, scale, channels);
        for (int t = 0; t < tokens; t++)
        {
            double condNorm = 0, combNorm = 0;
            var comb = new double[channels];
            for (int i = 0; i < channels; i++)
            {
                int k = t * channels + i;
                comb[i] = neg[k] + scale * ((double)cond[k] - neg[k]);
                condNorm += (double)cond[k] * cond[k];
                combNorm += comb[i] * comb[i];
            }
            double ratio = Math.Sqrt(condNorm / combNorm);
            for (int i = 0; i < channels; i++)
                Assert.True(Math.Abs(comb[i] * ratio - actual[t * channels + i]) < 1e-5, $"token {t} channel {i}");
        }
        Assert.Throws<ArgumentException>(() => TrueCfg.Combine(cond, neg, scale, 7));
    }

    [ConformanceFact]
    public void Prompt_embeds_drop_the_template_and_cut_to_max_sequence_length()
    {
        using var golden = Fixtures.Golden("qwenimage");
        var raw = Fixtures.GoldenTensor(golden, "text_encoder.raw_last_hidden_state");
        var expected = Fixtures.GoldenTensor(golden, "text_encoder.prompt_embeds");
        var embeds = QwenImagePromptEmbeds.FromHiddenStates(raw, 512);
        Assert.Equal(expected.Shape, embeds.Shape);
        Assert.Equal(expected.Floats, embeds.Floats);
        var cut = QwenImagePromptEmbeds.FromHiddenStates(raw, 10);
        Assert.Equal(new long[] { 1, 10, expected.Shape[2] }, cut.Shape);
        Assert.Equal(expected.Floats.AsSpan(0, (int)(10 * expected.Shape[2])).ToArray(), cut.Floats);
    }
}
