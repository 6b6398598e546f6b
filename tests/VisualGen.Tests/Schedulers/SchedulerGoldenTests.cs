using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Schedulers;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Schedulers;

/// <summary>Timesteps and sigmas of every conformance family against diffusers' scheduler.timesteps / scheduler.sigmas (max abs ≤ 1e-5).</summary>
public class SchedulerGoldenTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("wan21_t2v_euler")]
    [InlineData("wan22_t2v_a14b")]
    [InlineData("wan22_ti2v_5b")]
    [InlineData("wan21_i2v")]
    [InlineData("wan22_i2v_a14b")]
    [InlineData("flux1")]
    [InlineData("qwenimage")]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void TimestepsAndSigmasMatchDiffusers(string family)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Family(family), "golden.json")));
        var root = doc.RootElement;
        var call = root.GetProperty("call");
        int steps = call.GetProperty("num_inference_steps").GetInt32();

        var config = ComponentConfig.Load(Path.Combine(Fixtures.Checkpoint(family), "scheduler"));
        Assert.Equal(root.GetProperty("scheduler").GetString(), config.ClassName);
        var scheduler = SchedulerRegistry.Default.Create(config);

        if (root.GetProperty("pipeline").GetString() is "FluxPipeline" or "QwenImagePipeline")
        {
            // Both pipelines: packed latents have (h/16)·(w/16) tokens (VAE factor 8, 2×2 packing);
            // mu = calculate_shift(seq_len) from the scheduler config; sigmas = linspace(1, 1/n, n).
            long seqLen = call.GetProperty("height").GetInt32() / 16 * (call.GetProperty("width").GetInt32() / 16);
            double mu = ((FlowMatchEulerDiscreteScheduler)scheduler).CalculateShift(seqLen);
            scheduler.SetTimesteps(steps, mu, FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        }
        else scheduler.SetTimesteps(steps);

        using var golden = Fixtures.Golden(family);
        var ts = golden.ReadFloat32("scheduler.timesteps");
        var sig = golden.ReadFloat32("scheduler.sigmas");
        Assert.Equal(ts.Length, scheduler.Timesteps.Count);
        Assert.Equal(sig.Length, scheduler.Sigmas.Count);
        double tsErr = Compare.MaxAbs(ts, scheduler.Timesteps.Select(x => (float)x).ToArray());
        double sigErr = Compare.MaxAbs(sig, scheduler.Sigmas.Select(x => (float)x).ToArray());
        Assert.True(tsErr <= 1e-5, $"{family} timesteps: max abs {tsErr:g4}; expected [{string.Join(", ", ts)}], got [{string.Join(", ", scheduler.Timesteps)}]");
        Assert.True(sigErr <= 1e-5, $"{family} sigmas: max abs {sigErr:g4}; expected [{string.Join(", ", sig)}], got [{string.Join(", ", scheduler.Sigmas)}]");
    }
}
