using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Wan;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Qwen-Image image-to-image (a QwenImagePipeline checkpoint given an image, as diffusers' QwenImageImg2ImgPipeline): the
/// noised start against prepare_latents written out here (the image as a one-frame video through the VAE encoder's first
/// chunk, a sample of the distribution, the latents' normalization, scale_noise at sigmas[t_start], 2×2 packing), by
/// running the pipeline once from it and once from the image; the loop from t_start is the one FLUX.1's host-loop test
/// checks. No img2img golden exists.
/// </summary>
public class QwenImageToImageTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Image_to_image_starts_from_the_noised_image_latents()
    {
        using var golden = Fixtures.Golden("qwenimage");
        var image = Fixtures.RandomImage(50, 70, 41);
        var request = ConformancePipelines.RequestFromGolden("qwenimage", golden) with { Image = image, Strength = 0.5, Latents = null, Seed = 6 };
        string dir = Fixtures.Checkpoint("qwenimage");
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        Assert.True(pipeline.Info.AcceptsImage);
        var fromImage = pipeline.GenerateAsync(request).GetAwaiter().GetResult();

        var index = ModelIndex.Load(dir);
        int height = request.Height!.Value, width = request.Width!.Value, steps = request.NumInferenceSteps!.Value;
        var scheduler = (FlowMatchEulerDiscreteScheduler)SchedulerRegistry.Default.Create(index.LoadConfig("scheduler"), null);
        long tokens = height / 16 * (width / 16);
        scheduler.SetTimesteps(steps, scheduler.CalculateShift(tokens), FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        int first = ImageToImage.FirstStep(steps, 0.5);
        Assert.Equal(1, first);

        var pixels = SeparableResize.Lanczos(image, height, width).Floats;
        var video = new float[3 * height * width];  // [1, 3, 1, H, W] in [−1, 1]
        for (int p = 0; p < height * width; p++)
            for (int c = 0; c < 3; c++) video[c * height * width + p] = 2f * pixels[p * 3 + c] - 1f;
        var moments = provider.GetEngine(dir, "vae.encoder_first", null).Run(new Dictionary<string, HostTensor>
        {
            ["video"] = HostTensor.Float32(video, 1, 3, 1, height, width),
        }, ["latent_mean", "latent_logvar"]);
        var mean = moments["latent_mean"];
        long n = mean.Floats.LongLength;
        var normal = LatentNoise.Gaussian(2 * n, 6);
        var sample = new float[n];
        for (long i = 0; i < n; i++)
            sample[i] = mean.Floats[i] + MathF.Exp(0.5f * Math.Clamp(moments["latent_logvar"].Floats[i], -30f, 20f)) * normal[i];
        var normalized = new WanLatentStats(WanVaeConfig.Read(index.ComponentDirectory("vae"))).Normalize(HostTensor.Float32(sample, mean.Shape)).Floats;
        float sigma = (float)scheduler.Sigmas[first];
        var start = new float[n];
        for (long i = 0; i < n; i++) start[i] = sigma * normal[n + i] + (1f - sigma) * normalized[i];
        var packed = LatentPacking.Pack(HostTensor.Float32(start, 1, mean.Shape[1], mean.Shape[3], mean.Shape[4]));

        // explicit latents are the noised start, as diffusers takes them: the same run from the start computed here
        var fromStart = pipeline.GenerateAsync(request with { Latents = packed }).GetAwaiter().GetResult();
        Assert.Equal(fromStart.Latents.Floats, fromImage.Latents.Floats);
        var plain = ConformancePipelines.Run("qwenimage");
        double change = Compare.MaxAbs(plain.Latents.Floats, fromImage.Latents.Floats);
        output.WriteLine($"image-to-image against text-to-image: max abs difference {change:g3}");
        Assert.True(change > 1e-2, $"max abs difference {change}");
    }
}
