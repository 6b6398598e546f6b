using System.Reflection;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Quantization;
using VisualGen.Schedulers;

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
        try
        {
            return args[0] switch
            {
                "generate" => GenerateCommand.Run(args[1..], output, log, environment),
                "info" => InfoCommand.Run(args[1..], output),
                "build" => Build(args[1..], output, log),
                "run-component" => RunComponent(args[1..], output, log),
                "quantize" => QuantizeCommand.Run(args[1..], output, log, QuantizationSchemeRegistry.CreateDefault()),
                "cache" => CacheCommand.Run(args[1..], output),
                _ => throw new UsageException($"unknown command '{args[0]}' (commands: {string.Join(", ", Commands)}; visualgen --help lists their flags)"),
            };
        }
        catch (UsageException e)
        {
            log.WriteLine($"error: {e.Message}");
            return ExitCode.Usage;
        }
        catch (GenerationException e)
        {
            log.WriteLine($"error: {e.Parameter}: {e.Message}");
            return ExitCode.Usage;
        }
        catch (Exception e) when (e is CheckpointException or EngineException or MediaException or SchedulerException or QuantizationException)
        {
            log.WriteLine($"error: {e.Message}");
            return ExitCode.Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a file-system failure no check foresaw (the disk filled, a folder vanished): still one line
            log.WriteLine($"error: {e.Message}");
            return ExitCode.Failure;
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("cancelled");
            return ExitCode.Cancelled;
        }
    }

    /// <summary>build, with its engine cache checked before any component is traced.</summary>
    static int Build(string[] args, TextWriter output, TextWriter log)
    {
        var cl = new CommandLine(args, BuildCommand.Flags, BuildCommand.Switches);
        EngineCacheLocation.Require(Runtime.CacheDirectory(RunConfiguration.FromFlags(cl).EngineCache), log);
        return BuildCommand.Run(args, output, log);
    }

    /// <summary>run-component, with its engine cache checked before the component is traced.</summary>
    static int RunComponent(string[] args, TextWriter output, TextWriter log)
    {
        var cl = new CommandLine(args, RunComponentCommand.Flags);
        EngineCacheLocation.Require(Runtime.CacheDirectory(RunConfiguration.FromFlags(cl).EngineCache), log);
        return RunComponentCommand.Run(args, output, log);
    }

    /// <summary>The CLI's informational version (the project's Version, and the commit when the build knew it).</summary>
    public static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString() ?? "unknown";
}
