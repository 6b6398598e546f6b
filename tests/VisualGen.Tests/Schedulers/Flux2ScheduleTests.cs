using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Pipelines.Flux2;
using VisualGen.Schedulers;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Schedulers;

/// <summary>Flux2Pipeline's schedule (empirical mu) against diffusers' scheduler.timesteps / scheduler.sigmas.</summary>
public class Flux2ScheduleTests
{
    [ConformanceFact]
    public void Timesteps_and_sigmas_match_diffusers()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Family("flux2"), "golden.json")));
        var call = doc.RootElement.GetProperty("call");
        int steps = call.GetProperty("num_inference_steps").GetInt32();
        // VAE factor 8 and the 2×2 patchify: (h/16)·(w/16) image tokens
        long seqLen = call.GetProperty("height").GetInt32() / 16 * (call.GetProperty("width").GetInt32() / 16);
        var scheduler = SchedulerRegistry.Default.Create(ComponentConfig.Load(Path.Combine(Fixtures.Checkpoint("flux2"), "scheduler")));
        Flux2Schedule.SetTimesteps(scheduler, steps, seqLen);

        using var golden = Fixtures.Golden("flux2");
        var ts = golden.ReadFloat32("scheduler.timesteps");
        var sig = golden.ReadFloat32("scheduler.sigmas");
        Assert.Equal(ts.Length, scheduler.Timesteps.Count);
        Assert.Equal(sig.Length, scheduler.Sigmas.Count);
        Assert.True(Compare.MaxAbs(ts, scheduler.Timesteps.Select(x => (float)x).ToArray()) <= 1e-5, $"timesteps [{string.Join(", ", scheduler.Timesteps)}] vs [{string.Join(", ", ts)}]");
        Assert.True(Compare.MaxAbs(sig, scheduler.Sigmas.Select(x => (float)x).ToArray()) <= 1e-5, $"sigmas [{string.Join(", ", scheduler.Sigmas)}] vs [{string.Join(", ", sig)}]");
    }

    [Theory]
    // compute_empirical_mu's values from diffusers' Python function (float64): below the 4300-token knee mu
    // interpolates between the fits at 10 and 200 steps; above it only the 200-step fit counts
    [InlineData(4096, 50, 2.0233511571292637)]
    [InlineData(12, 3, 1.9524597330603874)]
    [InlineData(5000, 28, 1.30301666)]
    public void Empirical_mu_follows_the_two_fits(long seqLen, int steps, double expected)
    {
        Assert.Equal(expected, Flux2Schedule.EmpiricalMu(seqLen, steps), 12);
    }
}
