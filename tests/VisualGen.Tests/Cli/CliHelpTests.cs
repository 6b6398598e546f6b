using VisualGen.Cli;
using VisualGen.Exporter.Commands;

namespace VisualGen.Tests.Cli;

/// <summary><c>COMMAND --help</c> prints that command's flags (every flag it accepts) and exits 0; <c>--version</c> prints the version.</summary>
public class CliHelpTests
{
    public static TheoryData<string, string[]> Commands => new()
    {
        { "generate", GenerateCommand.Flags },
        { "info", InfoCommand.Flags },
        { "build", BuildCommand.Flags },
        { "run-component", RunComponentCommand.Flags },
        { "quantize", QuantizeCommand.Flags },
        { "cache", [.. CacheCommand.Flags, .. CacheCommand.Switches] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Help_of_each_command_lists_every_flag_it_accepts(string command, string[] flags)
    {
        foreach (var help in new[] { "--help", "-h" })
        {
            var run = CliRun.Of([command, help]);
            Assert.Equal(0, run.Rc);
            Assert.StartsWith($"usage: visualgen {command} ", run.Out);
            foreach (var flag in flags) Assert.Contains($"--{flag} ", run.Out.Replace("]", " ").Replace("\n", " "));
            Assert.Contains("exit status:", run.Out);
            Assert.Equal("", run.Err);
        }
    }

    [Fact]
    public void Help_after_other_flags_still_prints_help_and_runs_nothing()
    {
        var run = CliRun.Of(["generate", "--model", "/nonexistent/model", "--help"]);
        Assert.Equal(0, run.Rc);
        Assert.Contains("--max-sequence-length", run.Out);
    }

    [Fact]
    public void Version_prints_the_tool_and_its_version()
    {
        var run = CliRun.Of(["--version"]);
        Assert.Equal(0, run.Rc);
        Assert.StartsWith($"visualgen {CliApp.Version} (.NET ", run.Out);
        Assert.Matches(@"^\d+\.\d+", CliApp.Version);
    }

    [Fact]
    public void Tool_help_names_every_command_and_the_exit_statuses()
    {
        var run = CliRun.Of(["--help"]);
        Assert.Equal(0, run.Rc);
        foreach (var c in new[] { "generate", "info", "build", "--version" }) Assert.Contains(c, run.Out);
        Assert.Contains("exit status: 0 success; 1 the command ran and failed", run.Out);
        Assert.Contains("2 usage error", run.Out);
    }
}
