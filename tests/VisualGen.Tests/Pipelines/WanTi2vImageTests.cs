using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Wan;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Wan 2.2 TI2V-5B with a first frame, as diffusers' WanImageToVideoPipeline runs a model with expand_timesteps: the
/// image encoded alone (one frame) and normalized, read in place of the latents' first frame at every step with
/// timestep 0 on that frame's tokens, and the final latents' first frame replaced by it. The wan22_ti2v_5b fixture has
/// no image golden: the run is checked against a host loop written from diffusers' code (CFG unbatched there).
/// </summary>
public class WanTi2vImageTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Image_to_video_matches_a_host_loop()
    {
        const string family = "wan22_ti2v_5b";
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden) with { Image = Fixtures.RandomImage(50, 70, 21) };
        string dir = Fixtures.Checkpoint(family);
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
        {
            Assert.True(pipeline.Info.AcceptsImage);
            Assert.False(pipeline.Info.RequiresImage);
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }

        var index = ModelIndex.Load(dir);
        var config = WanModelConfig.Load(index);
        var stats = new WanLatentStats(config.Vae);
        HostTensor Embeds(string which)
        {
            var mask = Fixtures.GoldenTensor(golden, $"tokenizer.{which}.attention_mask");
            var states = provider.GetEngine(dir, "text_encoder", null).Run(new Dictionary<string, HostTensor>
            {
                ["input_ids"] = Fixtures.GoldenTensor(golden, $"tokenizer.{which}.input_ids"),
                ["attention_mask"] = mask,
            })["last_hidden_state"];
            return WanPromptEmbeds.ZeroPastPromptLength(states, mask);
        }
        var prompt = Embeds("prompt");
        var negative = Embeds("negative");
        int height = request.Height!.Value, width = request.Width!.Value;
        var encoder = new WanVaeEncoder(provider.GetEngine(dir, "vae.encoder_first", null), () => provider.GetEngine(dir, "vae.encoder_next", null));
        var condition = WanImageCondition.FirstFrame(encoder, stats, request.Image!, height, width, CancellationToken.None).Floats;
        var shape = request.Latents!.Shape;  // [1, z, frames, h, w]
        long plane = shape[3] * shape[4], perChannel = shape[2] * plane, tokens = shape[2] * plane / 4, frameTokens = plane / 4;
        float[] WithFirstFrame(float[] latents)  // (1 − mask)·condition + mask·latents
        {
            var x = (float[])latents.Clone();
            for (long c = 0; c < shape[1]; c++) Array.Copy(condition, c * plane, x, c * perChannel, plane);
            return x;
        }
        var scheduler = SchedulerRegistry.Default.Create(index.LoadConfig("scheduler"), null);
        scheduler.SetTimesteps(request.NumInferenceSteps!.Value);
        var transformer = provider.GetEngine(dir, "transformer", null);
        float g = (float)request.GuidanceScale!.Value;
        var latents = request.Latents.Floats;
        for (int step = 0; step < scheduler.Timesteps.Count; step++)
        {
            float t = (float)scheduler.Timesteps[step];
            var timestep = HostTensor.Float32(Enumerable.Range(0, (int)tokens).Select(i => i < frameTokens ? 0f : t).ToArray(), 1, tokens);
            float[] Predict(HostTensor text) => transformer.Run(new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32(WithFirstFrame(latents), shape),
                ["timestep"] = timestep,
                ["encoder_hidden_states"] = text,
            })["sample"].Floats;
            var cond = Predict(prompt);
            var uncond = Predict(negative);
            var noise = cond.Select((v, i) => uncond[i] + g * (v - uncond[i])).ToArray();
            latents = scheduler.Step(noise, step, latents);
        }
        latents = WithFirstFrame(latents);
        double maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        Assert.True(maxAbs < 1e-3, $"max abs {maxAbs}");
        // the first frame is the image's, exactly
        for (long c = 0; c < shape[1]; c++)
            for (long p = 0; p < plane; p += 5) Assert.Equal(condition[c * plane + p], result.Latents.Floats[c * perChannel + p]);
        var plain = ConformancePipelines.Run(family);
        double change = Compare.MaxAbs(plain.Latents.Floats, result.Latents.Floats);
        output.WriteLine($"against text-to-video: max abs difference {change:g3}");
        Assert.True(change > 1e-2, $"max abs difference {change}");
    }
}
