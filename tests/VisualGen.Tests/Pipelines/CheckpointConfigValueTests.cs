using System.Text.Json;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Config values a checkpoint may carry that cannot run are refused when the model is loaded, naming the file
/// and the key: a Wan patch_size of two sizes crashed the CLI with an IndexOutOfRangeException, a negative flow_shift ran
/// the whole generation into NaN, a non-positive rope_max_seq_len was blamed on the request's frame count.</summary>
public sealed class CheckpointConfigValueTests
{
    static (string Model, string Config) Demo(string component, string file, string key, object? value)
    {
        string model = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("config-values"), "wan"));
        string config = Path.Combine(model, component, file);
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(config))!;
        json[key] = JsonSerializer.SerializeToElement(value);
        File.WriteAllText(config, JsonSerializer.Serialize(json));
        return (model, config);
    }

    [Theory]
    [InlineData("transformer", "config.json", "patch_size", new[] { 1, 2 }, "[1,2] is not supported (Wan patchifies (frames, height, width): three sizes of at least 1)")]
    [InlineData("transformer", "config.json", "patch_size", new[] { 1, 0, 2 }, "[1,0,2] is not supported")]
    [InlineData("transformer", "config.json", "rope_max_seq_len", -1, "-1 is not supported (the rotary table needs at least one position)")]
    [InlineData("scheduler", "scheduler_config.json", "flow_shift", -3.0, "-3 is not supported (expected a positive number)")]
    [InlineData("scheduler", "scheduler_config.json", "flow_shift", 0.0, "0 is not supported (expected a positive number)")]
    public void A_value_that_cannot_run_is_refused_at_load_naming_the_file_and_key(string component, string file, string key, object value, string why)
    {
        var (model, config) = Demo(component, file, key, value);
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "x", "--height", "32", "--width", "32", "--frames", "1",
            "--steps", "1", "--output", Path.Combine(Fixtures.TempDir("out"), "x.png"), "--engine-cache", Fixtures.TempDir("cache")]);
        Assert.Equal(1, run.Rc);
        Assert.Equal($"error: {config}: key '{key}': {why}", Assert.Single(run.ErrorLines)[..Math.Min(run.ErrorLines[0].Length, $"error: {config}: key '{key}': {why}".Length)]);
        Assert.False(run.Generated, run.Err);
    }

    [Fact]
    public void An_unsupported_qk_norm_names_the_transformer_config()
    {
        var (model, config) = Demo("transformer", "config.json", "qk_norm", "layer_norm");
        var run = CliRun.Of(["build", "--model", model, "--components", "transformer", "--cache", Fixtures.TempDir("cache")]);
        Assert.Equal(1, run.Rc);
        Assert.Equal($"error: {config}: key 'qk_norm': \"layer_norm\" is not supported (Wan uses 'rms_norm_across_heads' or none)", Assert.Single(run.ErrorLines));
    }
}
