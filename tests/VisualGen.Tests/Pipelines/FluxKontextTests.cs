using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.1 Kontext (FluxKontextPipeline): its size rules against diffusers' formulas and PREFERRED_KONTEXT_RESOLUTIONS,
/// and a run on the tiny flux1 checkpoint dressed as a Kontext model (the architecture is FLUX.1's: a model_index.json
/// naming FluxKontextPipeline beside the flux1 components) against a host loop written from diffusers' code. There is
/// no Kontext golden among the conformance fixtures.
/// </summary>
public class FluxKontextTests(ITestOutputHelper output)
{
    /// <summary>The flux1 fixture's components under a model_index.json that names FluxKontextPipeline.</summary>
    internal static string KontextCheckpoint() => Fixtures.CheckpointVariant("flux1", FluxKontext.ClassName);

    [Theory]
    [InlineData(1024, 1024, 1048576, 1024, 1024)]
    [InlineData(480, 832, 1048576, 768, 1344)]   // ar 1.733: round(1348.17) = 1348 → 1344, round(777.78) = 778 → 768
    [InlineData(64, 48, 3072, 64, 48)]           // max_area = the size's own area keeps it
    [InlineData(64, 48, 1048576, 1168, 880)]     // round(√(2^20·0.75)) = 887 → 880, round(√(2^20/0.75)) = 1182 → 1168
    public void Output_size_is_fitted_to_max_area(int height, int width, long maxArea, int h, int w) =>
        Assert.Equal((h, w), FluxKontext.OutputSize(height, width, maxArea, 16));

    [Theory]
    [InlineData(600, 800, 880, 1184)]    // floored to 592×800: ar 1.351, nearest 1184/880 = 1.345
    [InlineData(1000, 1000, 1024, 1024)]
    [InlineData(17, 300, 672, 1568)]     // 16×288: ar 18, the widest preferred resolution
    [InlineData(800, 600, 1184, 880)]
    public void Image_size_is_the_preferred_resolution_nearest_its_aspect(int height, int width, int h, int w) =>
        Assert.Equal((h, w), FluxKontext.ImageSize(height, width, 16));

    [Fact]
    public void An_image_under_16_pixels_is_refused() =>
        Assert.Equal("image", Assert.Throws<GenerationException>(() => FluxKontext.ImageSize(15, 300, 16)).Parameter);

    [ConformanceFact]
    public void Editing_run_matches_a_host_loop_over_latent_and_image_tokens()
    {
        using var golden = Fixtures.Golden("flux1");
        var image = Fixtures.RandomImage(40, 60, 9);  // 32×48 after the floor: ar 1.5 → 1248×832
        var request = ConformancePipelines.RequestFromGolden("flux1", golden) with { Image = image, MaxArea = 64 * 48 };
        string dir = KontextCheckpoint();
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
        {
            Assert.Equal("FluxKontextPipeline", pipeline.Info.ClassName);
            Assert.True(pipeline.Info.AcceptsImage);
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }
        Assert.Equal(new long[] { 1, 64, 48, 3 }, result.Output.Shape);

        // the reference, step by step as FluxKontextPipeline.__call__ runs with image=
        var index = ModelIndex.Load(dir);
        var config = FluxModelConfig.Load(index);
        var (pooled, promptEmbeds) = FluxGoldenText.Encode(provider, dir, golden);
        var latents = request.Latents!.Floats;
        long tokens = request.Latents.Shape[1], channels = request.Latents.Shape[2];
        var (imageTokens, ids) = FluxKontext.Encode(provider.GetEngine(dir, "vae.encoder", null), config.Vae, FluxKontext.Preprocess(image, 16));
        Assert.Equal(52L * 78, imageTokens.Shape[1]);  // 832/16 × 1248/16
        Assert.All(Enumerable.Range(0, (int)ids.Shape[0]), i => Assert.Equal(1f, ids.Floats[i * 3]));
        long all = tokens + imageTokens.Shape[1];
        var allIds = FluxLatents.ImageIds(4, 3).Floats.Concat(ids.Floats).ToArray();  // 64×48: 4×3 packed tokens
        var scheduler = SchedulerRegistry.Default.Create(index.LoadConfig("scheduler"), null);
        var sc = index.LoadConfig("scheduler");
        double mu = FlowSigmas.CalculateShift(tokens, sc.GetInt("base_image_seq_len", 256), sc.GetInt("max_image_seq_len", 4096),
            sc.GetDouble("base_shift", 0.5), sc.GetDouble("max_shift", 1.15));
        int steps = request.NumInferenceSteps!.Value;
        scheduler.SetTimesteps(steps, mu, FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        var transformer = provider.GetEngine(dir, "transformer", null);
        for (int step = 0; step < steps; step++)
        {
            var inputs = new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32([.. latents, .. imageTokens.Floats], 1, all, channels),  // torch.cat([latents, image_latents], dim=1)
                ["timestep"] = HostTensor.Float32([(float)scheduler.Timesteps[step] / 1000f], 1),
                ["encoder_hidden_states"] = promptEmbeds,
                ["pooled_projections"] = pooled,
                ["img_ids"] = HostTensor.Float32(allIds, all, 3),
                ["txt_ids"] = FluxLatents.TextIds(promptEmbeds.Shape[1]),
            };
            if (config.GuidanceEmbeds) inputs["guidance"] = HostTensor.Float32([(float)request.GuidanceScale!.Value], 1);
            var prediction = transformer.Run(inputs)["sample"].Floats[..(int)(tokens * channels)];  // noise_pred[:, :latents.size(1)]
            latents = scheduler.Step(prediction, step, latents);
        }
        double maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        Assert.True(maxAbs < 1e-4, $"max abs {maxAbs}");
        var plain = ConformancePipelines.Run("flux1");
        double change = Compare.MaxAbs(plain.Latents.Floats, result.Latents.Floats);
        output.WriteLine($"final latents, editing against text-to-image: max abs difference {change:g3}");
        Assert.True(change > 1e-3, $"max abs difference {change}");
    }

    [ConformanceFact]
    public void Max_area_is_kontext_only_and_strength_is_not_kontext_s()
    {
        using var provider = ConformancePipelines.Provider();
        using var flux = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        var r = new GenerationRequest { Prompt = "x", Height = 64, Width = 48 };
        Assert.Equal("max_area", Assert.Throws<GenerationException>(() => flux.Validate(r with { MaxArea = 4096 })).Parameter);
        using var kontext = ModelFamilies.CreateRegistry().Create(KontextCheckpoint(), provider);
        kontext.Validate(r with { MaxArea = 4096, Image = Fixtures.RandomImage(64, 64, 1) });
        Assert.Equal("max_area", Assert.Throws<GenerationException>(() => kontext.Validate(r with { MaxArea = 10 })).Parameter);
        Assert.Equal("strength", Assert.Throws<GenerationException>(() =>
            kontext.Validate(r with { Image = Fixtures.RandomImage(64, 64, 1), Strength = 0.5 })).Parameter);
    }
}
