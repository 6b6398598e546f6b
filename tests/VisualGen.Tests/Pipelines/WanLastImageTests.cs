using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Wan image-to-video with a last frame (diffusers' WanImageToVideoPipeline last_image): the condition video
/// [image, zeros…, last image] and the mask rule of prepare_latents, against the rule written out here; the Wan 2.2
/// A14B image-to-video fixture (no CLIP encoder) run with a last frame; refusals. No golden has a last frame.
/// </summary>
public class WanLastImageTests(ITestOutputHelper output)
{
    /// <summary>mask_lat_size as diffusers builds it, for comparison: ones at the given pixel frames, the first repeated
    /// four times in front, viewed [latent frames, 4] and transposed.</summary>
    static bool[,] DiffusersMask(int frames, bool last)
    {
        var pixel = new bool[frames];
        pixel[0] = true;
        if (last) pixel[frames - 1] = true;
        var extended = Enumerable.Repeat(pixel[0], 4).Concat(pixel.Skip(1)).ToArray();
        int lf = extended.Length / 4;
        var mask = new bool[4, lf];
        for (int k = 0; k < lf; k++)
            for (int c = 0; c < 4; c++) mask[c, k] = extended[k * 4 + c];
        return mask;
    }

    [Theory]
    [InlineData(9, false)]
    [InlineData(9, true)]
    [InlineData(81, true)]
    [InlineData(5, true)]
    public void Mask_is_prepare_latents_rule(int frames, bool last)
    {
        var mask = WanImageCondition.Mask(frames, (frames - 1) / 4 + 1, last);
        Assert.Equal(DiffusersMask(frames, last), mask);
        if (last)  // the last latent frame: channel 3 only (the frames before the last one in its group are generated)
            Assert.Equal(new[] { false, false, false, true }, Enumerable.Range(0, 4).Select(c => mask[c, (frames - 1) / 4]).ToArray());
    }

    [ConformanceFact]
    public void A14b_image_to_video_with_a_last_frame_uses_it()
    {
        const string family = "wan22_i2v_a14b";
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        var last = Fixtures.RandomImage(40, 56, 12);
        string dir = Fixtures.Checkpoint(family);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var plain = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        var withLast = pipeline.GenerateAsync(request with { LastImage = last }).GetAwaiter().GetResult();
        Assert.All(withLast.Latents.Floats, v => Assert.True(float.IsFinite(v)));
        double change = Compare.MaxAbs(plain.Latents.Floats, withLast.Latents.Floats);
        output.WriteLine($"final latents with a last frame against without: max abs difference {change:g3}");
        Assert.True(change > 1e-2, $"max abs difference {change}");

        // the condition the transformer reads: the encoded video [image, zeros, last] normalized, behind the mask
        var config = WanModelConfig.Load(ModelIndex.Load(dir));
        var encoder = new WanVaeEncoder(provider.GetEngine(dir, "vae.encoder_first", null), () => provider.GetEngine(dir, "vae.encoder_next", null));
        int frames = request.NumFrames!.Value, height = request.Height!.Value, width = request.Width!.Value;
        var condition = WanImageCondition.Condition(encoder, new WanLatentStats(config.Vae), request.Image!, frames, height, width,
            CancellationToken.None, lastImage: last);
        long plane = (long)height * width;
        var video = new float[3 * frames * plane];
        foreach (var (picture, frame) in new[] { (request.Image!, 0), (last, frames - 1) })
        {
            var resized = VisualGen.Pipelines.Images.SeparableResize.Lanczos(picture, height, width).Floats;
            for (long p = 0; p < plane; p++)
                for (int c = 0; c < 3; c++) video[(c * frames + frame) * plane + p] = 2f * resized[p * 3 + c] - 1f;
        }
        var expected = new WanLatentStats(config.Vae).Normalize(encoder.Encode(HostTensor.Float32(video, 1, 3, frames, height, width), CancellationToken.None));
        long latentValues = expected.Floats.LongLength;
        var got = condition.Floats.AsSpan((int)(condition.Floats.LongLength - latentValues)).ToArray();
        Assert.Equal(expected.Floats, got);
    }

    [ConformanceFact]
    public void Last_image_is_refused_where_it_cannot_apply()
    {
        using var provider = ConformancePipelines.Provider();
        var last = Fixtures.RandomImage(32, 32, 1);
        using (var i2v = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan21_i2v"), provider))
        {
            // Wan 2.1 I2V with CLIP tokens and no pos_embed_seq_len: one image's tokens only
            var r = new GenerationRequest { Prompt = "x", Height = 32, Width = 32, NumFrames = 9, Image = Fixtures.RandomImage(32, 32, 2), LastImage = last };
            var e = Assert.Throws<GenerationException>(() => i2v.Validate(r));
            Assert.Equal("last_image", e.Parameter);
            Assert.Contains("first-last-frame model", e.Message);
        }
        using (var t2v = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan21_t2v"), provider))
            Assert.Equal("last_image", Assert.Throws<GenerationException>(() => t2v.Validate(new GenerationRequest { Prompt = "x", Height = 32, Width = 48, NumFrames = 9, LastImage = last })).Parameter);
        using (var flux = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider))
            Assert.Equal("last_image", Assert.Throws<GenerationException>(() => flux.Validate(new GenerationRequest { Prompt = "x", Height = 64, Width = 48, LastImage = last })).Parameter);
        using (var a14b = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan22_i2v_a14b"), provider))
        {
            var r = new GenerationRequest { Prompt = "x", Height = 32, Width = 48, NumFrames = 1, Image = last, LastImage = last };
            Assert.Equal("last_image", Assert.Throws<GenerationException>(() => a14b.Validate(r)).Parameter);
        }
    }

    static HostTensor WithValue(HostTensor image, long index, float value)
    {
        var values = (float[])image.Floats.Clone();
        values[index] = value;
        return HostTensor.Float32(values, image.Shape);
    }

    [ConformanceFact]
    public void Images_that_are_not_float32_are_empty_or_hold_values_outside_0_1_are_refused_before_anything_runs()
    {
        // an int64 image passed Validate and ended the run after the text encoder with "tensor is I64, not F32"
        // (an InvalidOperationException naming no argument); an empty one was an OverflowException
        using var provider = ConformancePipelines.Provider();
        using var a14b = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan22_i2v_a14b"), provider);
        using var i2v = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan21_i2v"), provider);
        var r = new GenerationRequest { Prompt = "x", Height = 32, Width = 48, NumFrames = 9, Image = Fixtures.RandomImage(32, 48, 1) };
        var integers = HostTensor.Int64(new long[32 * 48 * 3], 32, 48, 3);
        foreach (var (request, parameter, message) in new[]
        {
            (r with { Image = integers }, "image", "the image must be float32 [height, width, 3] in [0, 1], got I64 [32, 48, 3]"),
            (r with { Image = HostTensor.Zeros(0, 48, 3) }, "image", "the image is empty ([0, 48, 3])"),
            (r with { LastImage = integers }, "last_image", "last_image must be float32 [height, width, 3] in [0, 1], got I64 [32, 48, 3]"),
            (r with { LastImage = HostTensor.Zeros(32, 0, 3) }, "last_image", "last_image is empty ([32, 0, 3])"),
            // NaN made the whole video NaN; 8-bit values saturated the encoder
            (r with { Image = WithValue(Fixtures.RandomImage(32, 48, 1), 5 * 48 * 3 + 7 * 3 + 2, float.NaN) }, "image", "the image must hold values in [0, 1]; pixel (5, 7) channel 2 is NaN"),
            (r with { LastImage = WithValue(Fixtures.RandomImage(32, 48, 2), 0, 255f) }, "last_image", "last_image must hold values in [0, 1]; pixel (0, 0) channel 0 is 255 (8-bit values must be divided by 255)"),
        })
        {
            var pipeline = request.LastImage is null ? i2v : a14b;
            var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request));
            Assert.Equal(parameter, e.Parameter);
            Assert.StartsWith(message, e.Message);
            var run = Assert.ThrowsAsync<GenerationException>(() => pipeline.GenerateAsync(request)).GetAwaiter().GetResult();
            Assert.Equal(e.Message, run.Message);
        }
        // FLUX.1's and Qwen-Image's Validate passed any image (GenerateAsync refused a bad one after the text encoder
        // ran), and FLUX.1 generated from an empty one (resized from no pixels)
        foreach (string family in new[] { "flux1", "qwenimage" })
        {
            using var image = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
            var i2i = new GenerationRequest { Prompt = "x", Height = 32, Width = 32, NumInferenceSteps = 2 };
            foreach (var (bad, message) in new[] { (HostTensor.Zeros(0, 32, 3), "the image is empty"), (HostTensor.Zeros(32, 32), "the image must be float32") })
            {
                var e = Assert.Throws<GenerationException>(() => image.Validate(i2i with { Image = bad }));
                Assert.Equal("image", e.Parameter);
                Assert.StartsWith(message, e.Message);
            }
        }
    }
}
