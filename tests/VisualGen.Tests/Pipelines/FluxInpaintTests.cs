using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Pipelines.Images;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.1 inpainting (a FluxPipeline checkpoint given an image and a mask_image, as diffusers' FluxInpaintPipeline): the
/// mask's preprocessing against PIL's and torch's rules written out, and the run on the tiny flux1 checkpoint against a
/// host loop written from diffusers' code (no inpainting golden exists).
/// </summary>
public class FluxInpaintTests(ITestOutputHelper output)
{
    static HostTensor Solid(int h, int w, Func<int, int, (int R, int G, int B)> rgb)
    {
        var x = new float[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int c = 0; c < w; c++)
            {
                var (r, g, b) = rgb(y, c);
                x[(y * w + c) * 3] = r / 255f; x[(y * w + c) * 3 + 1] = g / 255f; x[(y * w + c) * 3 + 2] = b / 255f;
            }
        return HostTensor.Float32(x, h, w, 3);
    }

    [Theory]
    [InlineData(128, 128, 128, 1f)]   // L 128: 0.502 ≥ 0.5
    [InlineData(127, 127, 127, 0f)]   // L 127: 0.498
    [InlineData(255, 0, 0, 0f)]       // L (255·19595 + 2^15) >> 16 = 76
    [InlineData(0, 255, 0, 1f)]       // L 150
    [InlineData(0, 0, 255, 0f)]       // L 29
    [InlineData(255, 255, 255, 1f)]
    public void Mask_is_pil_grayscale_binarized_at_one_half(int r, int g, int b, float expected) =>
        Assert.All(InpaintMask.Binarize(Solid(2, 3, (_, _) => (r, g, b)), 2, 3), v => Assert.Equal(expected, v));

    [Fact]
    public void Latent_grid_is_torch_nearest_interpolation()
    {
        // 64 → 8: every 8th pixel from the first; 5 → 3: scale 5/3 in float32, floor(0), floor(1.67), floor(3.33)
        var map = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        Assert.Equal([0f, 8, 16, 24, 32, 40, 48, 56], InpaintMask.Nearest(map, 1, 64, 1, 8));
        Assert.Equal([0f, 1, 3], InpaintMask.Nearest([0f, 1, 2, 3, 4], 1, 5, 1, 3));
        Assert.Equal([0f, 0, 1, 1], InpaintMask.Nearest([0f, 1], 1, 2, 1, 4));
    }

    [ConformanceFact]
    public void Inpainting_matches_a_host_loop_and_keeps_the_unmasked_image_latents()
    {
        using var golden = Fixtures.Golden("flux1");
        // repaint the left half of a 40×30 mask (resized to the 64×48 output)
        var mask = Solid(40, 30, (_, x) => x < 15 ? (255, 255, 255) : (0, 0, 0));
        var request = ConformancePipelines.RequestFromGolden("flux1", golden) with
        {
            Image = Fixtures.RandomImage(50, 70, 31), MaskImage = mask, Strength = 0.5, Latents = null, Seed = 9,
        };
        string dir = Fixtures.Checkpoint("flux1");
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
        {
            Assert.True(pipeline.Info.Takes(CallArguments.MaskImage));
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }

        var index = ModelIndex.Load(dir);
        var config = FluxModelConfig.Load(index);
        int steps = request.NumInferenceSteps!.Value, height = request.Height!.Value, width = request.Width!.Value;
        var scheduler = FluxGoldenText.Schedule(index, steps, height, width);
        int first = ImageToImage.FirstStep(steps, 0.5);
        Assert.Equal(1, first);  // 3 steps at strength 0.5: t_start = int(1.5)

        // prepare_latents: the image latents (a sample of the distribution, shifted and scaled) and the noise, packed
        var moments = provider.GetEngine(dir, "vae.encoder", null).Run(new Dictionary<string, HostTensor>
        {
            ["image"] = FluxImageToImage.Preprocess(request.Image!, height, width),
        });
        var mean = moments["latent_mean"];
        int n = mean.Floats.Length;
        var normal = LatentNoise.Gaussian(2L * n, 9);
        float shift = config.Vae.ShiftFactor ?? 0f, scale = config.Vae.ScalingFactor;
        var imageLatents = new float[n];
        for (int i = 0; i < n; i++)
            imageLatents[i] = (mean.Floats[i] + MathF.Exp(0.5f * Math.Clamp(moments["latent_logvar"].Floats[i], -30f, 20f)) * normal[i] - shift) * scale;
        float[] image = LatentPacking.Pack(HostTensor.Float32(imageLatents, mean.Shape)).Floats;
        float[] noise = LatentPacking.Pack(HostTensor.Float32(normal[n..], mean.Shape)).Floats;
        // prepare_mask_latents: nearest to the 8×6 latent grid reads pixel (8y, 8x) of the binarized 64×48 mask
        var binary = InpaintMask.Binarize(mask, height, width);
        var grid = new float[config.LatentChannels * 8 * 6];
        for (int c = 0; c < config.LatentChannels; c++)
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 6; x++)
                    grid[(c * 8 + y) * 6 + x] = binary[8 * y * width + 8 * x];
        float[] m = LatentPacking.Pack(HostTensor.Float32(grid, 1, config.LatentChannels, 8, 6)).Floats;
        Assert.Contains(0f, m);
        Assert.Contains(1f, m);

        float[] Noised(double sigma) => [.. image.Select((v, i) => (float)sigma * noise[i] + (1f - (float)sigma) * v)];
        var latents = Noised((float)scheduler.Sigmas[first]);
        var text = FluxGoldenText.Encode(provider, dir, golden);
        var transformer = provider.GetEngine(dir, "transformer", null);
        for (int step = first; step < steps; step++)
        {
            latents = scheduler.Step(FluxGoldenText.Predict(transformer, config, text, latents, scheduler.Timesteps[step], height, width,
                request.GuidanceScale!.Value), step, latents);
            // init_latents_proper: scale_noise to the next timestep's sigma, the image latents after the last step
            var proper = step < steps - 1 ? Noised((float)scheduler.Sigmas[step + 1]) : image;
            for (int i = 0; i < latents.Length; i++) latents[i] = (1 - m[i]) * proper[i] + m[i] * latents[i];
        }
        double maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        Assert.True(maxAbs < 1e-4, $"max abs {maxAbs}");
        // the kept region is the image's latents exactly; the repainted one is not
        var final = result.Latents.Floats;
        Assert.All(Enumerable.Range(0, n).Where(i => m[i] == 0), i => Assert.Equal(image[i], final[i]));
        Assert.Contains(Enumerable.Range(0, n), i => m[i] == 1 && Math.Abs(image[i] - final[i]) > 1e-3);
    }

    [ConformanceFact]
    public void A_mask_needs_an_image_and_other_families_refuse_one()
    {
        using var provider = ConformancePipelines.Provider();
        var mask = Solid(8, 8, (_, _) => (255, 255, 255));
        var r = new GenerationRequest { Prompt = "x", Height = 64, Width = 48, MaskImage = mask };
        using var flux = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        Assert.Contains("give the image too", Assert.Throws<GenerationException>(() => flux.Validate(r)).Message);
        flux.Validate(r with { Image = Fixtures.RandomImage(40, 40, 1) });
        Assert.Equal("mask_image", Assert.Throws<GenerationException>(() =>
            flux.Validate(r with { Image = Fixtures.RandomImage(40, 40, 1), MaskImage = HostTensor.Zeros(8, 8) })).Parameter);
        using var wan = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan22_ti2v_5b"), provider);
        Assert.StartsWith("WanPipeline takes no mask_image", Assert.Throws<GenerationException>(() =>
            wan.Validate(new GenerationRequest { Prompt = "x", Height = 32, Width = 32, NumFrames = 5, Image = Fixtures.RandomImage(40, 40, 1), MaskImage = mask })).Message);
    }
}
