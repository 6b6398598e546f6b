using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>An empty VISUALGEN_CACHE or VISUALGEN_DEMO (an unset shell variable exported) counts as unset, as
/// VISUALGEN_STORE's does: both made the command die with an unhandled ArgumentException and its stack trace.</summary>
public sealed class EmptyVariableTests
{
    static (int Rc, string Out, string Err) Cli(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var psi = Fixtures.DotnetStart([typeof(VisualGen.Cli.CliApp).Assembly.Location, .. args]);
        foreach (var (k, v) in environment) psi.Environment[k] = v;
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [Fact]
    public void Empty_variables_take_the_default_folders()
    {
        string home = Fixtures.TempDir("empty-vars"), data = Path.Combine(home, "data");
        Directory.CreateDirectory(data);
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home, ["XDG_DATA_HOME"] = data, ["VISUALGEN_CACHE"] = "", ["VISUALGEN_DEMO"] = "",
        };
        var list = Cli(environment, "cache", "list");
        Assert.True(list.Rc == 0, list.Err);
        Assert.Contains($"engine cache {Path.Combine(home, ".cache", "visualgen", "engines")}", list.Out);

        var run = Cli(environment, "generate", "--prompt", "x", "--steps", "1", "--frames", "1", "--height", "32", "--width", "32",
            "--output", Path.Combine(home, "out.png"));
        Assert.True(run.Rc == 0, run.Err);
        Assert.True(Directory.Exists(Path.Combine(data, "visualgen", "demo", "wan2.1-t2v-tiny")));
        Assert.True(Directory.Exists(Path.Combine(home, ".cache", "visualgen", "engines")));
    }
}
