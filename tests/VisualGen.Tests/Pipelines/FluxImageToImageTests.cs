using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Flux;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.1 image-to-image (a FluxPipeline checkpoint given an image, as diffusers' FluxImg2ImgPipeline): get_timesteps'
/// start against its formula, the noised start against scale_noise on a sample of the encoder's distribution, and the
/// run on the tiny flux1 checkpoint against a host loop written from diffusers' code (no img2img golden exists).
/// </summary>
public class FluxImageToImageTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(28, 0.6, 11)]   // init_timestep 16.8: t_start = int(11.2)
    [InlineData(3, 0.5, 1)]
    [InlineData(4, 1.0, 0)]
    [InlineData(3, 0.1, 2)]     // a small strength still runs one step
    public void First_step_is_get_timesteps_start(int steps, double strength, int first) =>
        Assert.Equal(first, ImageToImage.FirstStep(steps, strength));

    [ConformanceFact]
    public void Image_to_image_matches_a_host_loop_from_the_noised_image_latents()
    {
        using var golden = Fixtures.Golden("flux1");
        var request = ConformancePipelines.RequestFromGolden("flux1", golden) with
        {
            Image = Fixtures.RandomImage(50, 70, 31), Strength = 0.5, Latents = null, Seed = 5,
        };
        string dir = Fixtures.Checkpoint("flux1");
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
        {
            Assert.True(pipeline.Info.AcceptsImage);
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }
        Assert.Equal(new long[] { 1, 64, 48, 3 }, result.Output.Shape);

        var index = ModelIndex.Load(dir);
        var config = FluxModelConfig.Load(index);
        int steps = request.NumInferenceSteps!.Value, height = request.Height!.Value, width = request.Width!.Value;
        var scheduler = FluxGoldenText.Schedule(index, steps, height, width);
        int first = ImageToImage.FirstStep(steps, 0.5);
        Assert.Equal(1, first);  // 3 steps at strength 0.5: t_start = int(1.5), the last 2 run

        // _encode_vae_image (a sample of the distribution), shift/scale, scale_noise at sigmas[t_start], pack
        var moments = provider.GetEngine(dir, "vae.encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["image"] = FluxImageToImage.Preprocess(request.Image!, height, width),
        });
        var mean = moments["latent_mean"];
        long n = mean.Floats.LongLength;
        var normal = LatentNoise.Gaussian(2 * n, 5);
        float sigma = (float)scheduler.Sigmas[first], shift = config.Vae.ShiftFactor ?? 0f, scale = config.Vae.ScalingFactor;
        var start = new float[n];
        for (long i = 0; i < n; i++)
        {
            float sample = mean.Floats[i] + MathF.Exp(0.5f * Math.Clamp(moments["latent_logvar"].Floats[i], -30f, 20f)) * normal[i];
            start[i] = sigma * normal[n + i] + (1f - sigma) * ((sample - shift) * scale);
        }
        var latents = LatentPacking.Pack(HostTensor.Float32(start, mean.Shape)).Floats;

        var text = FluxGoldenText.Encode(provider, dir, golden);
        var transformer = provider.GetEngine(dir, "transformer", null);
        for (int step = first; step < steps; step++)
            latents = scheduler.Step(FluxGoldenText.Predict(transformer, config, text, latents, scheduler.Timesteps[step], height, width,
                request.GuidanceScale!.Value), step, latents);
        double maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        Assert.True(maxAbs < 1e-4, $"max abs {maxAbs}");
    }

    [ConformanceFact]
    public void Step_caches_run_over_the_steps_image_to_image_runs()
    {
        using var golden = Fixtures.Golden("flux1");
        var request = ConformancePipelines.RequestFromGolden("flux1", golden) with
        {
            Image = Fixtures.RandomImage(50, 70, 31), Strength = 1.0, Latents = null, Seed = 5, NumInferenceSteps = 6,
        };
        using var provider = ConformancePipelines.Provider();
        using var flux = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        GenerationResult Run(GenerationRequest r) => flux.GenerateAsync(r).GetAwaiter().GetResult();
        var half = request with { Strength = 0.5 };   // 6 steps at strength 0.5: the last 3 run
        var plain = Run(half);

        // threshold 0 computes every step it runs: the same latents, a report of those 3 steps
        var every = Run(half with { TeaCache = new TeaCacheOptions(0) });
        Assert.Equal(plain.Latents.Floats, every.Latents.Floats);
        Assert.Equal("teacache: 3 of 3 steps computed, 0 skipped", every.StepCache!.ToString());
        // a threshold no step reaches: the first step run and the last compute, the one between reuses the residual
        var most = Run(half with { TeaCache = new TeaCacheOptions(1e9) });
        Assert.Equal([true, false, true], most.StepCache!.Computed);
        Assert.NotEqual(plain.Latents.Floats, most.Latents.Floats);

        // Cache-DiT counts its warm-up from the first step run: two warm-up steps, then the middle blocks may be reused
        var dit = Run(half with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 1e9, Warmup: 2) });
        Assert.Equal([true, true, false], dit.StepCache!.Computed);
    }

    [ConformanceFact]
    public void Strength_is_image_to_image_only_and_in_range()
    {
        using var provider = ConformancePipelines.Provider();
        using var flux = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        var r = new GenerationRequest { Prompt = "x", Height = 64, Width = 48, Image = Fixtures.RandomImage(40, 40, 1) };
        flux.Validate(r with { Strength = 1.0 });
        Assert.Equal("strength", Assert.Throws<GenerationException>(() => flux.Validate(r with { Strength = 0 })).Parameter);
        Assert.Equal("strength", Assert.Throws<GenerationException>(() => flux.Validate(r with { Strength = 1.5 })).Parameter);
        Assert.Equal("strength", Assert.Throws<GenerationException>(() => flux.Validate(r with { Image = null, Strength = 0.5 })).Parameter);
        using var wan = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan21_t2v"), provider);
        Assert.Equal("strength", Assert.Throws<GenerationException>(() => wan.Validate(new GenerationRequest { Prompt = "x", Strength = 0.5 })).Parameter);
    }
}
