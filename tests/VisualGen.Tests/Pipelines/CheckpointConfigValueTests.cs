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

    [Fact]
    public void A_config_value_the_model_code_cannot_take_is_an_error_naming_the_component_not_a_crash()
    {
        // a negative layer count reached Enumerable.Range in the model code: an unhandled ArgumentOutOfRangeException
        var (model, config) = Demo("transformer", "config.json", "num_layers", -1);
        var run = CliRun.Of(["build", "--model", model, "--components", "transformer", "--cache", Fixtures.TempDir("cache")]);
        Assert.Equal(1, run.Rc);
        Assert.StartsWith($"error: {config}: WanTransformer3DModel (transformer) cannot be built from this config: ArgumentOutOfRangeException:", Assert.Single(run.ErrorLines));
    }

    [ConformanceFact]
    public void Ltx2_patch_sizes_below_one_are_refused_at_load()
    {
        string model = Path.Combine(Fixtures.TempDir("ltx2-config"), "ltx2");
        CopyFolder(Fixtures.Checkpoint("ltx2"), model);
        string config = Path.Combine(model, "transformer", "config.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(config))!;
        json["patch_size"] = JsonSerializer.SerializeToElement(0);
        File.WriteAllText(config, JsonSerializer.Serialize(json));
        var run = CliRun.Of(["info", "--model", model]);
        Assert.Equal(1, run.Rc);
        Assert.Equal($"error: {config}: key 'patch_size': 0 is not supported (expected at least 1)", Assert.Single(run.ErrorLines));
    }

    static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(source)) CopyFolder(d, Path.Combine(target, Path.GetFileName(d)));
    }
}
