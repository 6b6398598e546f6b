using VisualGen.Cli;

namespace VisualGen.Tests.Cli;

/// <summary>Runs the CLI in-process and keeps what it wrote; asserts it never printed a stack trace.</summary>
sealed record CliRun(int Rc, string Out, string Err)
{
    public static CliRun Of(string[] args, CliEnvironment? environment = null)
    {
        var output = new StringWriter();
        var err = new StringWriter();
        int rc = CliApp.Run(args, output, err, environment ?? new CliEnvironment());
        Assert.DoesNotContain("   at ", err.ToString());
        Assert.DoesNotContain("Unhandled exception", err.ToString());
        return new CliRun(rc, output.ToString(), err.ToString());
    }

    /// <summary>The error lines: exactly one is expected for a failure.</summary>
    public string[] ErrorLines => Err.Split('\n').Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToArray();

    /// <summary>True when the run reached the pipeline's first stage (prompt encoding).</summary>
    public bool Generated => Err.Contains("] encode", StringComparison.Ordinal);
}
