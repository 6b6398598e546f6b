using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Flux2;
using VisualGen.Pipelines.Images;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.2 image editing with a reference image, as diffusers' Flux2Pipeline prepares it (Flux2ImageProcessor,
/// prepare_image_latents, _prepare_image_ids) and feeds it to the denoiser (the image's tokens after the latents', the
/// prediction cut to the latents'). The conformance fixtures have no editing golden: the parts are checked against
/// diffusers' formulas, the whole run against a host loop written here from diffusers' code.
/// </summary>
public class Flux2ReferenceImageTests(ITestOutputHelper output)
{
    [Fact]
    public void Reference_ids_are_time_10_plus_10i_then_row_major_positions()
    {
        var ids = Flux2ReferenceImage.Ids(2, 3, 0).Floats;
        Assert.Equal(new float[] { 10, 0, 0, 0, 10, 0, 1, 0, 10, 0, 2, 0, 10, 1, 0, 0, 10, 1, 1, 0, 10, 1, 2, 0 }, ids);
        Assert.All(Enumerable.Range(0, 6), i => Assert.Equal(30f, Flux2ReferenceImage.Ids(2, 3, 2).Floats[i * 4]));
    }

    [Theory]
    [InlineData(100, 70, 100, 70, 96, 64)]       // within the area: only the crop to multiples of 16
    [InlineData(1024, 1024, 1024, 1024, 1024, 1024)]
    [InlineData(2048, 1024, 1448, 724, 1440, 720)]  // sqrt(2^20 / 2^21) = 0.7071…: 1448.15 and 724.08, truncated
    [InlineData(1500, 1000, 1254, 836, 1248, 832)]  // sqrt(1048576 / 1.5e6) = 0.83610…
    public void Sizes_follow_the_area_rule_and_the_crop(int height, int width, int rh, int rw, int ch, int cw)
    {
        Assert.Equal((rh, rw), Flux2ReferenceImage.ResizedSize(height, width));
        Assert.Equal((ch, cw), Flux2ReferenceImage.CroppedSize(HostTensor.Zeros(height, width, 3), 16));
    }

    [Theory]
    [InlineData(63, 100, "too small")]
    [InlineData(64, 513, "aspect ratio")]
    public void Small_and_extreme_images_are_refused(int height, int width, string reason)
    {
        var e = Assert.Throws<GenerationException>(() => Flux2ReferenceImage.Check(HostTensor.Zeros(height, width, 3)));
        Assert.Equal("image", e.Parameter);
        Assert.Contains(reason, e.Message);
        Flux2ReferenceImage.Check(HostTensor.Zeros(64, 512, 3));  // 8:1 is allowed
    }

    [Fact]
    public void Preprocess_crops_about_the_centre_and_scales_to_minus_one_one()
    {
        var image = Fixtures.RandomImage(70, 100, 1);
        var x = Flux2ReferenceImage.Preprocess(image, 16);
        Assert.Equal(new long[] { 1, 3, 64, 96 }, x.Shape);
        var src = image.Floats;
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 64; y += 7)
                for (int xx = 0; xx < 96; xx += 5)  // (70 − 64) / 2 = 3 rows and (100 − 96) / 2 = 2 columns cut before
                    Assert.Equal(2f * src[((3 + y) * 100 + 2 + xx) * 3 + c] - 1f, x.Floats[(c * 64 + y) * 96 + xx]);
    }

    [Fact]
    public void Patchify_inverts_the_golden_checked_unpatchify()
    {
        var grid = HostTensor.Float32(Enumerable.Range(0, 2 * 3 * 4 * 6).Select(i => (float)i).ToArray(), 2, 3, 4, 6);
        var patched = Flux2Latents.Patchify(grid);
        Assert.Equal(new long[] { 2, 12, 2, 3 }, patched.Shape);
        Assert.Equal(grid.Floats, Flux2Latents.Unpatchify(patched).Floats);
        // channel 4c + 2·dy + dx holds element (2y + dy, 2x + dx) of channel c (diffusers' view/permute)
        Assert.Equal(grid.Floats[((1 * 3 + 2) * 4 + 2 * 1 + 1) * 6 + 2 * 2 + 0], patched.Floats[((1 * 12 + 4 * 2 + 2 * 1 + 0) * 2 + 1) * 3 + 2]);
    }

    [Fact]
    public void Normalize_inverts_denormalize()
    {
        var stats = new Flux2LatentStats([0.5f, -1f, 2f], [4f, 0.25f, 1f], 1e-4f);
        var x = HostTensor.Float32([1f, 2f, 3f, -4f, 5f, 6f], 1, 2, 3);
        var back = stats.Denormalize(stats.Normalize(x)).Floats;
        for (int i = 0; i < back.Length; i++) Assert.Equal(x.Floats[i], back[i], 5);
        Assert.Equal((1f - 0.5f) / MathF.Sqrt(4f + 1e-4f), stats.Normalize(x).Floats[0]);
    }

    [Fact]
    public void Lanczos_keeps_constants_and_sizes()
    {
        var flat = HostTensor.Float32(Enumerable.Repeat(64 / 255f, 40 * 30 * 3).ToArray(), 40, 30, 3);
        var small = SeparableResize.Lanczos(flat, 17, 11);
        Assert.Equal(new long[] { 17, 11, 3 }, small.Shape);
        Assert.All(small.Floats, v => Assert.Equal(64 / 255f, v));
        // a left-right mirror image resamples to the mirror of the result
        var image = Fixtures.RandomImage(20, 16, 2);
        var mirrored = new float[image.Floats.Length];
        for (int y = 0; y < 20; y++)
            for (int x = 0; x < 16; x++)
                for (int c = 0; c < 3; c++) mirrored[(y * 16 + x) * 3 + c] = image.Floats[(y * 16 + 15 - x) * 3 + c];
        var a = SeparableResize.Lanczos(image, 9, 7).Floats;
        var b = SeparableResize.Lanczos(HostTensor.Float32(mirrored, 20, 16, 3), 9, 7).Floats;
        for (int y = 0; y < 9; y++)
            for (int x = 0; x < 7; x++)
                for (int c = 0; c < 3; c++) Assert.Equal(a[(y * 7 + x) * 3 + c], b[(y * 7 + 6 - x) * 3 + c], 5);
    }

    [ConformanceTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Editing_run_matches_a_host_loop_over_latent_and_image_tokens(int references)
    {
        using var golden = Fixtures.Golden("flux2");
        HostTensor[] images = references == 1 ? [Fixtures.RandomImage(80, 72, 3)] : [Fixtures.RandomImage(80, 72, 3), Fixtures.RandomImage(64, 100, 5)];
        var request = ConditioningImages.With(ConformancePipelines.RequestFromGolden("flux2", golden), images);
        string dir = Fixtures.Checkpoint("flux2");
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();

        // the reference, step by step as Flux2Pipeline.__call__ runs with image=
        var index = ModelIndex.Load(dir);
        var config = Flux2ModelConfig.Load(index);
        var stats = Flux2LatentStats.Load(index.ComponentDirectory("vae"), config.Vae);
        var promptEmbeds = provider.GetEngine(dir, "text_encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids"),
            ["attention_mask"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.attention_mask"),
        })["prompt_embeds"];
        var init = request.Latents!;
        var latents = Flux2Latents.Pack(init).Floats;
        // prepare_image_latents: each image encoded and packed, the tokens in order, reference i at time 10 + 10·i
        var imageTokens = new List<float>();
        var ids = Flux2Latents.ImageIds(init.Shape[2], init.Shape[3]).Floats.ToList();
        long all = init.Shape[2] * init.Shape[3];
        (long, long)[] grids = [(5, 4), (4, 6)];  // 80×64 and 64×96 after the crop
        for (int i = 0; i < references; i++)
        {
            var (packed, rh, rw) = Flux2ReferenceImage.Encode(provider.GetEngine(dir, "vae.encoder", null), stats, Flux2ReferenceImage.Preprocess(images[i], 16));
            Assert.Equal(grids[i], (rh, rw));
            imageTokens.AddRange(packed.Floats);
            ids.AddRange(Flux2ReferenceImage.Ids(rh, rw, i).Floats);
            all += rh * rw;
        }
        var image = HostTensor.Float32([.. imageTokens], 1, imageTokens.Count / init.Shape[1], init.Shape[1]);
        long tokens = init.Shape[2] * init.Shape[3], channels = init.Shape[1];
        var scheduler = SchedulerRegistry.Default.Create(index.LoadConfig("scheduler"), null);
        Flux2Schedule.SetTimesteps(scheduler, request.NumInferenceSteps!.Value, tokens);
        var transformer = provider.GetEngine(dir, "transformer", null);
        for (int step = 0; step < scheduler.Timesteps.Count; step++)
        {
            var inputs = new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32([.. latents, .. image.Floats], 1, all, channels),  // torch.cat([latents, image_latents], dim=1)
                ["timestep"] = HostTensor.Float32([(float)scheduler.Timesteps[step] / 1000f], 1),
                ["encoder_hidden_states"] = promptEmbeds,
                ["img_ids"] = HostTensor.Float32([.. ids], all, 4),
                ["txt_ids"] = Flux2Latents.TextIds(promptEmbeds.Shape[1]),
            };
            if (config.GuidanceEmbeds) inputs["guidance"] = HostTensor.Float32([(float)request.GuidanceScale!.Value], 1);
            var prediction = transformer.Run(inputs)["sample"].Floats[..(int)(tokens * channels)];  // noise_pred[:, :latents.size(1)]
            latents = scheduler.Step(prediction, step, latents);
        }
        double cos = Compare.Cosine(latents, result.Latents.Floats), maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {cos:f7}");
        Assert.True(maxAbs < 1e-4, $"max abs {maxAbs}");

        // the reference image is what changed the result: the text-to-image run differs
        var plain = ConformancePipelines.Run("flux2");
        double change = Compare.MaxAbs(plain.Latents.Floats, result.Latents.Floats);
        output.WriteLine($"final latents, editing against text-to-image: max abs difference {change:g3}");
        Assert.True(change > 1e-3, $"max abs difference {change}");  // against the 1e-4 the loops agree within
    }

    [Fact]
    public void Images_are_either_one_image_or_a_list()
    {
        var r = new GenerationRequest { Prompt = "x" };
        var a = HostTensor.Zeros(64, 64, 3);
        var b = HostTensor.Zeros(64, 80, 3);
        Assert.Empty(ConditioningImages.Of(r));
        Assert.Same(a, ConditioningImages.With(r, [a]).Image);
        Assert.Null(ConditioningImages.With(r, [a]).Images);
        Assert.Equal([a, b], ConditioningImages.Of(ConditioningImages.With(r, [a, b])));
        Assert.Equal("image", Assert.Throws<GenerationException>(() => ConditioningImages.Of(r with { Image = a, Images = [b] })).Parameter);
        Assert.Equal("image", Assert.Throws<GenerationException>(() => ConditioningImages.Of(r with { Images = [] })).Parameter);
        // a null entry was a NullReferenceException from FLUX.2's image check, in Validate and GenerateAsync alike
        var missing = Assert.Throws<GenerationException>(() => ConditioningImages.Of(r with { Images = [a, null!] }));
        Assert.Equal("image", missing.Parameter);
        Assert.StartsWith("images[1] is null", missing.Message);
        var single = Assert.Throws<GenerationException>(() => ConditioningImages.RefuseList(r with { Images = [a, b] }, "Wan"));
        Assert.Contains("Wan takes one conditioning image, got 2", single.Message);
        Assert.Contains("not in images", Assert.Throws<GenerationException>(() => ConditioningImages.RefuseList(r with { Images = [a] }, "Wan")).Message);
    }

    [ConformanceFact]
    public void Size_defaults_to_the_cropped_reference()
    {
        using var golden = Fixtures.Golden("flux2");
        var request = ConformancePipelines.RequestFromGolden("flux2", golden) with
        {
            Image = Fixtures.RandomImage(70, 100, 4), Height = null, Width = null, Latents = null, Seed = 7, NumInferenceSteps = 1,
        };
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux2"), provider);
        Assert.True(pipeline.Info.AcceptsImage);
        var result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        Assert.Equal(new long[] { 1, 64, 96, 3 }, result.Output.Shape);
    }

    [ConformanceFact]
    public void Step_caches_run_on_the_whole_token_stream_with_a_reference()
    {
        using var golden = Fixtures.Golden("flux2");
        var request = ConformancePipelines.RequestFromGolden("flux2", golden) with { Image = Fixtures.RandomImage(80, 72, 3), NumInferenceSteps = 4 };
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux2"), provider);
        GenerationResult Run(GenerationRequest r) => pipeline.GenerateAsync(r).GetAwaiter().GetResult();
        var plain = Run(request);
        // threshold 0: every step computes, through the cache's own path: the same latents
        var everyStep = Run(request with { TeaCache = new TeaCacheOptions(0, [1.0, 0.0]) });
        Assert.Equal(4, everyStep.StepCache!.ComputedSteps);
        Assert.Equal(plain.Latents.Floats, everyStep.Latents.Floats);
        // a threshold nothing reaches: the first and last steps compute, the others reuse the residual of the whole stream
        var skipping = Run(request with { TeaCache = new TeaCacheOptions(1e9, [1.0, 0.0]) });
        Assert.Equal(2, skipping.StepCache!.ComputedSteps);
        Assert.All(skipping.Latents.Floats, v => Assert.True(float.IsFinite(v)));
        double cos = Compare.Cosine(plain.Latents.Floats, skipping.Latents.Floats);
        output.WriteLine($"TeaCache 2 of 4 steps against all 4: cosine {cos:f6}");
        Assert.NotEqual(plain.Latents.Floats, skipping.Latents.Floats);
        var dbcache = Run(request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 1e9, Warmup: 1) });
        Assert.True(dbcache.StepCache!.SkippedSteps > 0);
        Assert.All(dbcache.Latents.Floats, v => Assert.True(float.IsFinite(v)));
    }
}
