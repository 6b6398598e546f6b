using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Tensors;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>Step caches through the CLI: the TeaCache fixture driven as run-all drives it, the stderr report, and bad
/// cache flags refused with one line before anything runs.</summary>
public class CliStepCacheTests
{
    [ConformanceFact]
    public void Teacache_fixture_through_the_cli_reports_its_steps_and_matches_the_goldens()
    {
        const string family = "wan21_t2v_teacache";
        string tmp = Fixtures.TempDir("cli-tea");
        string latents = Path.Combine(tmp, "latents.safetensors"), tensors = Path.Combine(tmp, "out.safetensors");
        using (var golden = Fixtures.Golden(family))
            SafeTensorsWriter.Write(latents, [HostTensor.FromSource(golden, "pipeline.latents_init").ToTensorData("latents")]);
        var args = CliConformanceTests.ArgsFromGolden(family, latents, tensors, Path.Combine(tmp, "frames"));
        Assert.Contains("--teacache-thresh", args);
        Assert.Contains("--teacache-coefficients", args);
        var run = CliRun.Of(args);
        Assert.True(run.Rc == 0, $"exit {run.Rc}: {run.Err}");
        // golden.json's computed_steps: [1,0,0,0,0,1,0,1,0,1]
        Assert.Contains("teacache: 4 of 10 steps computed, 6 skipped (computed: 1000010101)", run.Err);
        using var saved = SafeTensorsFile.Open(tensors);
        using var gold = Fixtures.Golden(family);
        Compare.Pipeline(gold.ReadFloat32("pipeline.latents_final"), saved.ReadFloat32("latents"), "latents");
        Compare.Pipeline(gold.ReadFloat32("pipeline.output"), saved.ReadFloat32("output"), "output");
    }

    static CliRun Generate(params string[] extra) => CliRun.Of(
    [
        "generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32", "--width", "48", "--frames", "9",
        "--steps", "4", "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("tea-err"), "o"),
        "--format", "png", .. extra,
    ]);

    [ConformanceTheory]
    [InlineData(new[] { "--teacache-thresh", "-0.1" }, "teacache_thresh must be a finite number ≥ 0, got -0.1")]
    [InlineData(new[] { "--teacache-thresh", "abc" }, "--teacache-thresh must be a number, got 'abc'")]
    [InlineData(new[] { "--teacache-thresh", "0.2", "--teacache-coefficients", "" }, "--teacache-coefficients needs a value, got an empty one")]
    [InlineData(new[] { "--teacache-thresh", "0.2", "--teacache-coefficients", ",," }, "--teacache-coefficients must list numbers separated by commas")]
    [InlineData(new[] { "--teacache-thresh", "0.2", "--teacache-coefficients", "1.5,x,2" }, "--teacache-coefficients: 'x' is not a number")]
    [InlineData(new[] { "--teacache-coefficients", "1,2" }, "--teacache-coefficients needs --teacache-thresh")]
    [InlineData(new[] { "--cache-dit-fn", "2", "--cache-dit-bn", "1" }, "cache_dit_fn + cache_dit_bn = 2 + 1 = 3 is more than the transformer's 2 blocks")]
    [InlineData(new[] { "--cache-dit-fn", "0" }, "cache_dit_fn must be at least 1")]
    [InlineData(new[] { "--cache-dit-fn", "1", "--cache-dit-bn", "-1" }, "cache_dit_bn must be ≥ 0")]
    [InlineData(new[] { "--cache-dit-fn", "1", "--cache-dit-threshold", "-1" }, "cache_dit_threshold must be a finite number ≥ 0")]
    [InlineData(new[] { "--cache-dit-fn", "1", "--cache-dit-warmup", "-3" }, "cache_dit_warmup must be ≥ 0")]
    // without --cache-dit-fn the default Fn (8) is more than the fixture's blocks: each value's own range is named first
    [InlineData(new[] { "--cache-dit-warmup", "-1" }, "cache_dit_warmup must be ≥ 0, got -1")]
    [InlineData(new[] { "--cache-dit-threshold", "-1" }, "cache_dit_threshold must be a finite number ≥ 0, got -1")]
    [InlineData(new[] { "--cache-dit-fn", "1", "--cache-dit-max-cached", "-2" }, "--cache-dit-max-cached must be -1 (no limit) or ≥ 0")]
    [InlineData(new[] { "--teacache-thresh", "0.2", "--cache-dit-fn", "1" }, "TeaCache and Cache-DiT cannot be combined")]
    public void Bad_cache_flags_are_one_line_before_anything_runs(string[] extra, string message)
    {
        var run = Generate(extra);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Single(run.ErrorLines);
        Assert.Contains(message, run.Err);
        Assert.False(run.Generated, "the request was refused only after encoding began");
    }
}
