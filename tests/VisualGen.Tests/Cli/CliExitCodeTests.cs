using VisualGen.Cli;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>One exit-code convention (<see cref="ExitCode"/>, README and usage text): 2 for a wrong command line,
/// 1 for a command that ran and failed; in both cases one error line.</summary>
public class CliExitCodeTests
{
    static string[] Generate(params string[] extra) =>
        ["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--height", "32", "--width", "48", "--frames", "5",
         "--steps", "1", "--engine-cache", ConformancePipelines.CacheDir, .. extra];

    [ConformanceTheory]
    [InlineData(new[] { "--format", "gif" }, "--format must be 'mp4' or 'png', got 'gif'")]
    [InlineData(new[] { "--format", "png", "--output", "x.mp4" }, "--output x.mp4 ends in .mp4 but --format is png")]
    [InlineData(new[] { "--format", "mp4", "--output", "x.png" }, "--output x.png ends in .png but --format is mp4")]
    [InlineData(new[] { "--output", "-" }, "--output -: writing to stdout is not supported; name a file (for example output.mp4)")]  // wrote '-.mp4'
    [InlineData(new[] { "--format", "png", "--output", "-" }, "--output -: writing to stdout is not supported")]
    [InlineData(new[] { "--engine", "tpu" }, "unknown engine 'tpu'")]
    [InlineData(new[] { "--max-sequence-length", "0" }, "max_sequence_length must be at least 1")]
    // ran until UMT5's attention asked for an 80 GB buffer at encode (exit 1)
    [InlineData(new[] { "--max-sequence-length", "100000" }, "max_sequence_length must be at most 512 (Wan's text context")]
    [InlineData(new[] { "--max-sequence-length", "513" }, "max_sequence_length must be at most 512")]
    public void Command_line_mistakes_exit_2(string[] extra, string message)
    {
        var run = CliRun.Of(Generate(extra));
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains(message, Assert.Single(run.ErrorLines));
    }

    /// <summary>--engine takes any case, as --attention, --vae-dtype and --vae-tiling do (ORT-CPU was refused as unknown).</summary>
    [ConformanceFact]
    public void Engine_flag_takes_any_case()
    {
        var lower = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--engine", "ort-cpu"]);
        var upper = CliRun.Of(["info", "--model", Fixtures.Checkpoint("wan21_t2v"), "--engine", "ORT-CPU"]);
        Assert.Equal(ExitCode.Success, lower.Rc);
        Assert.Equal((lower.Rc, lower.Out), (upper.Rc, upper.Out));
        Assert.Equal("native-cuda", VisualGen.Server.Hosting.ServerOptions.Parse(["--engine", "Native-CUDA"], _ => null).Engine);
    }

    [Theory]
    [InlineData("generate", "--model")]
    [InlineData("generate", "--output")]
    [InlineData("generate", "--engine-cache")]
    [InlineData("generate", "--save-tensors")]
    [InlineData("info", "--model")]
    [InlineData("build", "--cache")]
    [InlineData("cache", "--cache")]
    [InlineData("quantize", "--output")]
    public void An_empty_value_is_a_usage_error_naming_the_flag(string command, string flag)
    {
        string[] args = command switch
        {
            "generate" => ["generate", "--model", "/nonexistent/model", "--prompt", "x"],
            "info" => ["info"],
            "build" => ["build", "--model", "/nonexistent/model"],
            "cache" => ["cache", "list"],
            _ => ["quantize", "--model", "/nonexistent/model", "--scheme", "fp8"],
        };
        // an unset shell variable: --model "$MODEL"
        var run = CliRun.Of([.. args.Where((a, i) => a != flag && (i == 0 || args[i - 1] != flag)), flag, ""]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: {flag} needs a value, got an empty one", Assert.Single(run.ErrorLines));
        // free text may be empty: diffusers takes negative_prompt=""
        Assert.DoesNotContain("--negative-prompt", CliRun.Of(["generate", "--model", "/nonexistent/model", "--prompt", "x", "--negative-prompt", ""]).Err);
    }

    [Fact]
    public void A_flag_followed_by_another_of_the_command_s_flags_needs_a_value()
    {
        // --prompt --seed 3 took "--seed" as the prompt, then refused "3" as an unexpected argument
        var run = CliRun.Of(["generate", "--model", "/nonexistent/model", "--prompt", "--seed", "3"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal("error: --prompt needs a value", Assert.Single(run.ErrorLines));
        Assert.Equal("error: --output needs a value", Assert.Single(CliRun.Of(["quantize", "--tensors", "t.safetensors", "--output", "--scheme=fp8"]).ErrorLines));
        // a value that only starts with '-' (a negative number, a prompt, a token that is no flag of the command) is a value
        var values = CliRun.Of(["generate", "--model", "/nonexistent/model", "--prompt", "-- a fox --", "--negative-prompt", "--blurry", "--seed", "-1"]);
        Assert.Equal(ExitCode.Failure, values.Rc);   // the missing model, after every flag was read
        Assert.Contains("/nonexistent/model", Assert.Single(values.ErrorLines));
    }

    [ConformanceFact]
    public void Missing_image_file_is_a_runtime_failure_like_a_missing_model()
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_i2v"), "--prompt", "x", "--height", "32", "--width", "32",
            "--frames", "5", "--engine-cache", ConformancePipelines.CacheDir, "--image", "/nonexistent/first-frame.png"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Contains("--image /nonexistent/first-frame.png: file not found", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Format_and_extension_disagreement_is_refused_before_the_model_is_read()
    {
        var run = CliRun.Of(["generate", "--model", "/nonexistent/model", "--prompt", "x", "--format", "png", "--output", "fox.mp4"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains("--output fox.mp4 ends in .mp4 but --format is png", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Readme_documents_the_same_exit_statuses()
    {
        string readme = File.ReadAllText(Path.Combine(Fixtures.RepoRoot, "README.md"));
        Assert.Contains("Exit status", readme);
        Assert.Contains("`2`", readme);
        Assert.Contains("`1`", readme);
    }
}
