using VisualGen.Cli;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>generate takes --cache as build does (same as --engine-cache); progress is a bar with ETA on a terminal.</summary>
public class CliCacheAndProgressTests
{
    static string[] Generate(params string[] extra) =>
        ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32", "--width", "48", "--frames", "5",
         "--steps", "2", "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o"), .. extra];

    [ConformanceFact]
    public void Cache_names_the_engine_cache_like_engine_cache()
    {
        var run = CliRun.Of(Generate("--cache", ConformancePipelines.CacheDir));
        Assert.True(run.Rc == 0, run.Err);
        Assert.Contains($"({ConformancePipelines.CacheDir}{Path.DirectorySeparatorChar}transformer-", run.Err);
        Assert.Matches($@"wrote .*{Path.DirectorySeparatorChar}o{Path.DirectorySeparatorChar} \(5 PNG frames\)", run.Out);

        var same = CliRun.Of(Generate("--cache", ConformancePipelines.CacheDir, "--engine-cache", ConformancePipelines.CacheDir));
        Assert.True(same.Rc == 0, same.Err);
    }

    [ConformanceFact]
    public void Cache_and_engine_cache_naming_two_folders_is_refused()
    {
        var run = CliRun.Of(Generate("--cache", "/tmp/a", "--engine-cache", "/tmp/b"));
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains("--engine-cache /tmp/b and --cache /tmp/a name two engine caches", Assert.Single(run.ErrorLines));
    }

    [ConformanceFact]
    public void Progress_is_a_redrawn_bar_with_eta_on_a_terminal_and_plain_lines_otherwise()
    {
        var bar = CliRun.Of(Generate("--engine-cache", ConformancePipelines.CacheDir), new CliEnvironment { LogIsTerminal = true });
        Assert.True(bar.Rc == 0, bar.Err);
        Assert.Matches(@"\r\[\s*\d+\.\ds\]   \[#{15}\.{15}\] step 1/2  ETA \d\d:\d\d:\d\d", bar.Err);
        Assert.Matches(@"\r\[\s*\d+\.\ds\]   \[#{30}\] step 2/2  ETA 00:00:00", bar.Err);
        Assert.DoesNotContain("   step 1/2\n", bar.Err);

        var plain = CliRun.Of(Generate("--engine-cache", ConformancePipelines.CacheDir));
        Assert.Contains("   step 1/2", plain.Err);
        Assert.DoesNotContain("\r", plain.Err);
    }

    [ConformanceFact]
    public void A_tiled_decode_reports_its_tiles_as_denoising_reports_its_steps()
    {
        // the pipelines report each decoded tile; the progress printer dropped every report but denoising steps, so a
        // tiled decode (minutes on a real video) showed nothing between "decode" and "finished"
        string[] Tiled() => ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "272", "--width", "48",
            "--frames", "1", "--steps", "1", "--vae-tiling", "on", "--engine-cache", ConformancePipelines.CacheDir, "--format", "png",
            "--output", Path.Combine(Fixtures.TempDir("out"), "o")];
        var plain = CliRun.Of(Tiled());
        Assert.True(plain.Rc == 0, plain.Err);
        // the progress lines (the engine cache's lines come between them)
        var stages = plain.Err.Split('\n').Where(l => l.StartsWith('[')).Select(l => l[(l.IndexOf(']') + 1)..].TrimEnd()).ToList();
        Assert.Equal([" encode", " denoise", "   step 1/1", " decode", "   tile 1/2", "   tile 2/2", " finished"], stages);

        var bar = CliRun.Of(Tiled(), new CliEnvironment { LogIsTerminal = true });
        Assert.True(bar.Rc == 0, bar.Err);
        Assert.Matches(@"\r\[\s*\d+\.\ds\]   \[#{30}\] tile 2/2  ETA 00:00:00", bar.Err);

        // an untiled decode has no tiles to report
        var untiled = CliRun.Of(Generate("--engine-cache", ConformancePipelines.CacheDir));
        Assert.DoesNotContain("tile", untiled.Err);
    }
}
