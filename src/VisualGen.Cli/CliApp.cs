using System.Reflection;
using VisualGen.Exporter.Commands;
using VisualGen.Quantization;

namespace VisualGen.Cli;

/// <summary>The <c>visualgen</c> command line: generate, info, build, run-component, quantize, cache. Errors from user data are one line, never a
/// stack trace, and every command exits by one convention (<see cref="ExitCode"/>).</summary>
public static class CliApp
{
    static readonly string[] Commands = ["generate", "info", "build", "run-component", "quantize", "cache"];

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error, CliEnvironment.FromProcess());

    public static int Run(string[] args, TextWriter output, TextWriter log) => Run(args, output, log, new CliEnvironment());

    public static int Run(string[] args, TextWriter output, TextWriter log, CliEnvironment environment)
    {
        if (args.Length == 0)
        {
            log.WriteLine(CliUsage.Tool);
            return ExitCode.Usage;
        }
        if (args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(CliUsage.Tool);
            return ExitCode.Success;
        }
        if (args[0] is "--version" or "version")
        {
            output.WriteLine($"visualgen {Version} (.NET {Environment.Version})");
            return ExitCode.Success;
        }
        if (Commands.Contains(args[0]) && args.Skip(1).Any(a => a is "-h" or "--help"))
        {
            output.WriteLine(CliUsage.Of(args[0]));
            return ExitCode.Success;
        }
        return CommandErrors.Run(() => args[0] switch
        {
            "generate" => GenerateCommand.Run(args[1..], output, log, environment),
            "info" => InfoCommand.Run(args[1..], output),
            "build" => BuildCommand.Run(args[1..], output, log),
            "run-component" => RunComponentCommand.Run(args[1..], output, log),
            "quantize" => QuantizeCommand.Run(args[1..], output, log, QuantizationSchemeRegistry.CreateDefault()),
            "cache" => CacheCommand.Run(args[1..], output),
            _ => throw new UsageException($"unknown command '{args[0]}' (commands: {string.Join(", ", Commands)}; visualgen --help lists their flags)"),
        }, log);
    }

    /// <summary>The CLI's informational version (the project's Version, and the commit when the build knew it).</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "unknown";
}
