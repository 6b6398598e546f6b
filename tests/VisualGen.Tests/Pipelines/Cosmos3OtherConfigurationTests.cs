using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Cosmos3;
using VisualGen.Pipelines.Wan;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Cosmos3OmniPipeline on a test-built checkpoint whose transformer has another configuration than the fixtures
/// (<see cref="OtherConfigurationCheckpoints.Cosmos3"/>), at another size and frame count: 48×32 pixels, whose 3×2
/// latent grid is padded to whole 2×2 patches, 5 frames, 12 fps. Text-to-video is recomputed step by step with the
/// float64 transformer reference, packing and positions written out here from diffusers' formulas, and the scheduler;
/// image-to-video keeps latent frame 0 at the encoded image.
/// </summary>
public class Cosmos3OtherConfigurationTests(ITestOutputHelper output)
{
    static GenerationRequest Request => new()
    {
        Prompt = "A lighthouse on a cliff at dusk.", NegativePrompt = "blurry", Height = 48, Width = 32, NumFrames = 5,
        NumInferenceSteps = 2, GuidanceScale = 4.0, Fps = 12,
    };

    [ConformanceFact]
    public void Text_to_video_matches_a_recomputation_with_the_float64_transformer()
    {
        var (dir, transformer) = OtherConfigurationCheckpoints.Cosmos3();
        using var cleanup = new DeletedOnDispose(dir);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = (Cosmos3Pipeline)ModelFamilies.CreateRegistry().Create(dir, provider);
        const int channels = 48, frames = 2, height = 3, width = 2;
        var rng = new Random(21);
        var init = Enumerable.Range(0, channels * frames * height * width).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var request = Request with { Latents = HostTensor.Float32(init, 1, channels, frames, height, width) };
        var result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        Assert.Equal(new long[] { 1, 5, 48, 32, 3 }, result.Output.Shape);
        Assert.All(result.Output.Floats, v => Assert.InRange(v, 0f, 1f));

        var (promptIds, negativeIds) = pipeline.TokenizePrompts(request);
        var scheduler = SchedulerRegistry.Default.Load(Path.Combine(dir, "scheduler"));
        scheduler.SetTimesteps(2);
        var sample = (float[])init.Clone();
        for (int step = 0; step < 2; step++)
        {
            double t = scheduler.Timesteps[step];
            var cond = Velocity(transformer, promptIds, sample, t);
            var uncond = Velocity(transformer, negativeIds, sample, t);
            var guided = cond.Select((c, i) => (float)(uncond[i] + 4.0 * (c - uncond[i]))).ToArray();
            sample = scheduler.Step(guided, step, sample);
        }
        output.WriteLine($"final latents vs float64 recomputation: max abs {Compare.MaxAbs(sample, result.Latents.Floats):g3}");
        Compare.Component(sample, result.Latents.Floats, "cosmos3 other-configuration latents");

        // a different fps moves the time positions (and the duration template), so the result changes
        var otherFps = pipeline.GenerateAsync(request with { Fps = 24 }).GetAwaiter().GetResult();
        Assert.True(Compare.MaxAbs(result.Latents.Floats, otherFps.Latents.Floats) > 1e-4, "fps must reach the prompt and the positions");

        // latents [48, 2, 3, 2] → 2 frames × 2 × 1 patch tokens (rows padded from 3 to 4), features (py, px, channel)
        static float[] Pack(float[] latents)
        {
            var tokens = new float[frames * 2 * 1 * 4 * channels];
            for (int f = 0; f < frames; f++)
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        for (int c = 0; c < channels; c++)
                            tokens[((f * 2 + y / 2) * 1 + x / 2) * 4 * channels + ((y % 2) * 2 + x % 2) * channels + c] =
                                latents[((c * frames + f) * height + y) * width + x];
            return tokens;
        }

        float[] Velocity(Cosmos3TransformerReference model, IReadOnlyList<int> ids, float[] latents, double t)
        {
            int text = ids.Count, vision = frames * 2;
            var positions = new float[3 * (text + vision)];
            for (int i = 0; i < text; i++) for (int a = 0; a < 3; a++) positions[a * (text + vision) + i] = i;
            for (int k = 0; k < vision; k++)
            {
                // 12 fps against base 24 (both over the temporal factor 4): latent frame f sits at 2f after the margin
                positions[text + k] = text + 15000 + 2 * (k / 2);
                positions[(text + vision) + text + k] = k % 2;
                positions[2 * (text + vision) + text + k] = 0;
            }
            var pred = model.Forward(ids.Select(i => (long)i).ToArray(), Pack(latents), t, Enumerable.Repeat(1f, vision).ToArray(), positions);
            var v = new float[latents.Length];
            for (int f = 0; f < frames; f++)
                for (int y = 0; y < height; y++)
                    for (int x = 0; x < width; x++)
                        for (int c = 0; c < channels; c++)
                            v[((c * frames + f) * height + y) * width + x] =
                                (float)pred[((f * 2 + y / 2) * 1 + x / 2) * 4 * channels + ((y % 2) * 2 + x % 2) * channels + c];
            return v;
        }
    }

    [ConformanceFact]
    public void Image_to_video_keeps_the_first_latent_frame_at_the_encoded_image()
    {
        var (dir, _) = OtherConfigurationCheckpoints.Cosmos3();
        using var cleanup = new DeletedOnDispose(dir);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var rng = new Random(8);
        var image = HostTensor.Float32(Enumerable.Range(0, 48 * 32 * 3).Select(_ => rng.Next(256) / 255f).ToArray(), 48, 32, 3);
        var result = pipeline.GenerateAsync(Request with { Image = image, Seed = 5 }).GetAwaiter().GetResult();
        Assert.Equal(new long[] { 1, 48, 2, 3, 2 }, result.Latents.Shape);
        Assert.Equal(new long[] { 1, 5, 48, 32, 3 }, result.Output.Shape);

        var vae = WanVaeConfig.Read(Path.Combine(dir, "vae"));
        var encoder = new WanVaeEncoder(provider.GetEngine(dir, "vae.encoder_first", null), provider.GetEngine(dir, "vae.encoder_next", null));
        var first = Cosmos3ImageCondition.EncodeFirstFrame(encoder, new WanLatentStats(vae), image, (int)image.Shape[0], (int)image.Shape[1], default).Floats;
        var frame0 = new float[first.Length];
        for (int c = 0; c < 48; c++) Array.Copy(result.Latents.Floats, c * 2 * 6, frame0, c * 6, 6);
        output.WriteLine($"latent frame 0 after denoising vs the encoded image: max abs {Compare.MaxAbs(first, frame0):g3}");
        Compare.Component(first, frame0, "anchored latent frame 0");
        // the image reaches the generated frame through attention: with the same noise but no image, latent frame 1 differs
        var noImage = pipeline.GenerateAsync(Request with { Seed = 5 }).GetAwaiter().GetResult();
        float[] Frame1(float[] latents) => Enumerable.Range(0, 48).SelectMany(c => latents.AsSpan(c * 12 + 6, 6).ToArray()).ToArray();
        Assert.True(Compare.MaxAbs(Frame1(noImage.Latents.Floats), Frame1(result.Latents.Floats)) > 1e-4, "the image must condition the generated frame");
    }
}
