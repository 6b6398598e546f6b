using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using VisualGen.Cli;
using VisualGen.Quantization;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>A checkpoint whose <c>quantization_config</c> VisualGen cannot load, or an engine that cannot run on this machine, is refused before anything is traced:
/// generate before the prompt is encoded, build before its first component, the server at start (it used to start and
/// fail every request when the transformer's engine was first needed).</summary>
public sealed class QuantizationConfigEarlyCheckTests
{
    /// <summary>The demo Wan model with the transformer's config.json given <paramref name="quantizationConfig"/>.</summary>
    static (string Model, string Config) Model(object quantizationConfig, string component = "transformer")
    {
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("bad-quant"), "wan"));
        string config = Path.Combine(model, component, "config.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(config))!;
        json["quantization_config"] = JsonSerializer.SerializeToElement(quantizationConfig);
        File.WriteAllText(config, JsonSerializer.Serialize(json));
        return (model, config);
    }

    [Fact]
    public void Generate_refuses_an_unknown_quant_algo_before_encoding_and_builds_nothing()
    {
        var (model, config) = Model(new { quant_method = "modelopt", quant_algo = "FP16X" });
        string cache = Fixtures.TempDir("fresh-cache");
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "1",
            "--steps", "1", "--engine-cache", cache, "--output", Path.Combine(Fixtures.TempDir("out"), "fox.png")]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: {config}: quantization_config: unknown quant_algo 'FP16X' (known: FP8, FP8_BLOCK_SCALES, NVFP4)",
            Assert.Single(run.ErrorLines).TrimEnd());
        Assert.False(run.Generated, run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }

    [Fact]
    public void Build_refuses_a_quantization_config_on_a_component_that_does_not_quantize_before_the_first_component()
    {
        var (model, _) = Model(new { quant_method = "modelopt", quant_algo = "FP8" }, component: "vae");
        string cache = Fixtures.TempDir("fresh-cache");
        var run = CliRun.Of(["build", "--model", model, "--cache", cache]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Contains("component 'vae' (AutoencoderKLWan) has a quantization_config, but VisualGen quantizes only the diffusion transformers' linears",
            Assert.Single(run.ErrorLines));
        Assert.DoesNotContain("[1/", run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }

    [Fact]
    public void The_server_does_not_start_on_an_unsupported_quant_method()
    {
        var (model, config) = Model(new { quant_method = "gptq", quant_algo = "FP8" });
        var options = new ServerOptions { ModelDir = model, EngineCacheDir = Fixtures.TempDir("fresh-cache") };
        var e = Assert.Throws<QuantizationException>(() => PipelineLoading.Load(options, NullLogger.Instance));
        Assert.Equal($"{config}: quantization_config: quant_method 'gptq' is not supported (VisualGen reads ModelOpt checkpoints: 'modelopt')",
            StartupError.Describe(e));
    }

    [Fact]
    public void The_server_does_not_start_on_an_engine_cache_it_cannot_create()
    {
        var options = new ServerOptions { ModelDir = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan")),
            EngineCacheDir = "/proc/visualgen-test-cache" };
        var e = Assert.ThrowsAny<Exception>(() => PipelineLoading.Load(options, NullLogger.Instance));
        Assert.StartsWith("engine cache /proc/visualgen-test-cache: cannot create it", StartupError.Describe(e));
    }

    [Fact]
    public void An_engine_that_cannot_run_here_is_refused_before_anything_is_traced()
    {
        // this build ships ONNX Runtime's CPU package: its CUDA execution provider is never there
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo"), "wan"));
        string cache = Fixtures.TempDir("fresh-cache");
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a fox", "--height", "32", "--width", "32", "--frames", "1",
            "--steps", "1", "--engine", "ort-cuda", "--engine-cache", cache, "--output", Path.Combine(Fixtures.TempDir("out"), "fox.png")]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.StartsWith("error: ONNX Runtime's CUDA execution provider was requested but its native library is not available", Assert.Single(run.ErrorLines));
        Assert.False(run.Generated, run.Err);
        Assert.DoesNotContain("hashed weights", run.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
        var build = CliRun.Of(["build", "--model", model, "--engine", "ort-cuda", "--cache", cache]);
        Assert.Equal(ExitCode.Failure, build.Rc);
        Assert.DoesNotContain("[1/", build.Err);
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }
}
