using System.Text.Json;
using VisualGen.Exporter;
using VisualGen.Exporter.Commands;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary><c>dotnet run --project exporter -- build</c> behaves as <c>visualgen build</c>: the same flags and usage text,
/// errors from user data as one line with the same exit statuses, never a stack trace (it printed one for an engine
/// cache it could not create and for a checkpoint with an unknown quant_algo).</summary>
public sealed class ExporterEntryPointTests
{
    static (int Rc, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var log = new StringWriter();
        int rc = ExporterApp.Run(args, output, log);
        Assert.DoesNotContain("   at ", log.ToString());
        return (rc, output.ToString(), log.ToString());
    }

    static string DemoModel() => VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("exporter-entry"), "wan"));

    [Fact]
    public void Build_runs_and_prints_one_line_per_component()
    {
        string cache = Path.Combine(Fixtures.TempDir("exporter-cache"), "engines");
        var (rc, output, _) = Run("build", "--model", DemoModel(), "--cache", cache, "--components", "transformer");
        Assert.Equal(CommandErrors.Success, rc);
        Assert.Matches(@"transformer\s+\d+ nodes .* built", output);
        Assert.Contains("1 component(s)", output);
        Assert.Single(Directory.GetDirectories(cache), d => Path.GetFileName(d).StartsWith("transformer-", StringComparison.Ordinal));
    }

    [Fact]
    public void An_engine_cache_it_cannot_create_is_one_error_line_before_tracing()
    {
        var (rc, _, err) = Run("build", "--model", DemoModel(), "--cache", "/proc/visualgen-test-cache");
        Assert.Equal(CommandErrors.Failure, rc);
        Assert.StartsWith("error: engine cache /proc/visualgen-test-cache: cannot create it", err);
        Assert.DoesNotContain("tracing", err);
    }

    [Fact]
    public void A_checkpoint_with_an_unknown_quant_algo_is_one_error_line_naming_its_config()
    {
        string model = DemoModel();
        string config = Path.Combine(model, "transformer", "config.json");
        var json = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(config))!;
        json["quantization_config"] = JsonSerializer.SerializeToElement(new { quant_algo = "FP16X", producer = new { name = "modelopt" } });
        File.WriteAllText(config, JsonSerializer.Serialize(json));
        var (rc, _, err) = Run("build", "--model", model, "--cache", Fixtures.TempDir("exporter-cache"), "--components", "transformer");
        Assert.Equal(CommandErrors.Failure, rc);
        Assert.Contains($"error: {config}: quantization_config: unknown quant_algo 'FP16X'", err);
    }

    [Fact]
    public void Usage_lists_build_s_flags_as_visualgen_build_does_and_bad_commands_are_usage_errors()
    {
        var (rc, output, _) = Run("build", "--help");
        Assert.Equal(CommandErrors.Success, rc);
        Assert.Contains(BuildCommand.Usage.Trim(), output);
        Assert.Contains("--quant-algo", output);
        Assert.Equal(BuildCommand.Usage, VisualGen.Cli.CliUsage.Build);
        Assert.Equal(CommandErrors.Usage, Run().Rc);
        var (bad, _, err) = Run("frob");
        Assert.Equal(CommandErrors.Usage, bad);
        Assert.Equal("error: unknown command 'frob' (commands: build)", err.Trim());
        var (flag, _, flagErr) = Run("build", "--model", DemoModel(), "--quant-algo", "FP9");
        Assert.Equal(CommandErrors.Usage, flag);
        Assert.Contains("unknown quant_algo 'FP9'", flagErr);
    }
}
