using VisualGen.Demo;
using VisualGen.Cli;
using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>The run settings a command reads (flags over --config) are checked as they are merged, so <c>info</c>, which
/// only prints them, refuses what <c>generate</c> would refuse instead of printing a configuration that cannot run.</summary>
public sealed class RunSettingsCheckTests
{
    static readonly string[] Flags = [.. RunConfiguration.Flags, .. RunConfiguration.GenerationFlags];

    static string Write(string yaml) => ConfigFiles.Write(yaml);

    [Theory]
    [InlineData(new[] { "--engine", "tpu" }, "unknown engine 'tpu'; available: ort-cpu, ort-cuda, native-cuda")]
    [InlineData(new[] { "--attention", "sage" }, "--attention sage runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu)")]
    [InlineData(new[] { "--vae-dtype", "bf16" }, "--vae-dtype bf16 runs on the native CUDA engine")]
    [InlineData(new[] { "--engine", "native-cuda", "--vae-dtype", "fp16" }, "unknown VAE dtype 'fp16'; available: fp32, bf16")]
    [InlineData(new[] { "--gpu-memory", "8" }, "--gpu-memory bounds the GPU memory the engines hold, and the ort-cpu engine holds none")]
    public void Settings_that_cannot_run_are_usage_errors_when_read(string[] args, string message)
    {
        var e = Assert.Throws<UsageException>(() => RunConfiguration.FromFlags(new CommandLine(args, Flags)));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void A_flag_that_leaves_the_file_s_native_settings_on_another_engine_is_refused()
    {
        string file = Write("engine: native-cuda\nattention_config:\n  quant_attention_config: {qk_dtype: fp8, v_dtype: fp8}\n");
        Assert.Equal("native-cuda", RunConfiguration.FromFlags(new CommandLine(["--config", file], Flags)).Engine);
        var e = Assert.Throws<UsageException>(() => RunConfiguration.FromFlags(new CommandLine(["--config", file, "--engine", "ort-cpu"], Flags)));
        Assert.Contains("runs on the native CUDA engine", e.Message);
        var c = RunConfiguration.FromFlags(new CommandLine(["--config", file, "--engine", "ort-cpu", "--attention", "bf16"], Flags));
        Assert.Equal("ort-cpu", c.Engine);
    }

    [Fact]
    public void Only_a_run_left_on_the_default_engine_where_a_GPU_is_ready_gets_the_native_engine_note()
    {
        Assert.Contains("--engine native-cuda", Runtime.DefaultEngineNote(null, () => true));
        Assert.Null(Runtime.DefaultEngineNote(null, () => false));
        Assert.Null(Runtime.DefaultEngineNote("ort-cpu", () => true));   // chosen, not defaulted
        Assert.Null(Runtime.DefaultEngineNote("native-cuda", () => true));
        // the engine a configuration file names counts as chosen
        var fromFile = RunConfiguration.FromFlags(new CommandLine(["--config", Write("engine: ort-cpu\n")], Flags));
        Assert.Null(Runtime.DefaultEngineNote(fromFile.Engine, () => true));
    }

    [Fact]
    public void Generate_on_the_default_engine_notes_the_native_engine_only_where_its_library_and_a_GPU_are_there()
    {
        string dir = Fixtures.TempDir("note");
        var run = CliRun.Of(["generate", "--model", DemoModel.EnsureCreated(Path.Combine(dir, "model")), "--cache", Path.Combine(dir, "engines"),
            "--prompt", "p", "--height", "32", "--width", "48", "--frames", "5", "--steps", "1", "--format", "png", "--output", Path.Combine(dir, "f")]);
        Assert.Equal(ExitCode.Success, run.Rc);
        Assert.Equal(VisualGen.Engines.Cuda.CudaBackend.DeviceReady(), run.Err.Contains("--engine native-cuda"));
    }

    [Fact]
    public void Info_refuses_an_unknown_engine_as_generate_does()
    {
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("settings-check"), "wan"));
        foreach (var command in new[] { "info", "generate" })
        {
            var run = CliRun.Of(command == "info"
                ? ["info", "--model", model, "--engine", "tpu"]
                : ["generate", "--model", model, "--prompt", "x", "--engine", "tpu"]);
            Assert.Equal(ExitCode.Usage, run.Rc);
            Assert.Contains("unknown engine 'tpu'", Assert.Single(run.ErrorLines));
            Assert.DoesNotContain("engine: tpu", run.Out);
            Assert.False(run.Generated);
        }
    }
}
