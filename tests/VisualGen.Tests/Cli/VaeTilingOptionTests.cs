using VisualGen.Cli;
using VisualGen.Configuration;
using VisualGen.Exporter.Commands;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>--vae-tiling on the command line and the server, <c>vae_tiling</c> in the YAML configuration,
/// <see cref="VisualGenOptions.VaeTiling"/> in C#: read, merged (a flag wins over the file) and refused when misspelt.</summary>
public sealed class VaeTilingOptionTests
{
    static readonly string[] Flags = [.. RunConfiguration.Flags, .. RunConfiguration.GenerationFlags];

    static string Write(string yaml) => ConfigFiles.Write(yaml);

    [Fact]
    public void The_configuration_file_reads_and_prints_vae_tiling()
    {
        var c = VisualGenConfig.Parse("vae_tiling: true\n", "a.yaml");
        Assert.True(c.VaeTiling);
        Assert.True(VisualGenOptions.FromConfig(c).VaeTiling);
        Assert.Contains("vae_tiling: true", c.ToYaml());
        Assert.True(VisualGenConfig.Parse(c.ToYaml(), "printed").VaeTiling);
        Assert.False(VisualGenConfig.Parse("", "empty.yaml").VaeTiling);
        var e = Assert.Throws<ConfigException>(() => VisualGenConfig.Parse("vae_tiling: sometimes\n", "a.yaml"));
        Assert.Contains("vae_tiling: 'sometimes' is not true or false", e.Message);
    }

    [Theory]
    [InlineData("on", true)]
    [InlineData("off", false)]
    [InlineData("true", true)]
    [InlineData("False", false)]
    public void The_flag_takes_on_or_off_and_wins_over_the_file(string value, bool expected)
    {
        string file = Write($"vae_tiling: {(!expected).ToString().ToLowerInvariant()}\n");
        var c = RunConfiguration.FromFlags(new CommandLine(["--config", file, "--vae-tiling", value], Flags));
        Assert.Equal(expected, c.VaeTiling);
        Assert.True(RunConfiguration.FromFlags(new CommandLine(["--config", Write("vae_tiling: true\n")], Flags)).VaeTiling);
    }

    [Fact]
    public void A_bad_value_is_a_usage_error_before_any_work()
    {
        var e = Assert.Throws<UsageException>(() => RunConfiguration.FromFlags(new CommandLine(["--vae-tiling", "auto"], Flags)));
        Assert.Equal("--vae-tiling must be on or off, got 'auto'", e.Message);
        var run = CliRun.Of(["generate", "--prompt", "x", "--vae-tiling", "auto"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains("--vae-tiling must be on or off, got 'auto'", Assert.Single(run.ErrorLines));
        Assert.False(run.Generated);
    }

    [Fact]
    public void The_server_takes_the_flag_over_the_file()
    {
        Assert.True(ServerOptions.Parse(["--vae-tiling", "on"], _ => null).VaeTiling);
        Assert.Null(ServerOptions.Parse([], _ => null).VaeTiling);
        Assert.True(ServerOptions.Parse(["--config", Write("vae_tiling: true\n")], _ => null).VaeTiling);
        Assert.False(ServerOptions.Parse(["--config", Write("vae_tiling: true\n"), "--vae-tiling", "off"], _ => null).VaeTiling);
        var e = Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--vae-tiling", "yes please"], _ => null));
        Assert.Contains("--vae-tiling must be on or off, got 'yes please'", e.Message);
    }
}
