using VisualGen.Exporter.Commands;

namespace VisualGen.Exporter;

/// <summary><c>dotnet run --project exporter -- build --model DIR [flags]</c>: the same command, flags, messages and
/// exit statuses as <c>visualgen build</c> (<see cref="BuildCommand"/>, <see cref="CommandErrors"/>).</summary>
public static class ExporterApp
{
    public const string UsageText = $"""
        usage: dotnet run --project exporter -- build [flags]
        {BuildCommand.Usage}
        exit status: 0 success; 1 the command ran and failed (a model or engine file missing, unreadable or unwritable;
                     an engine failure); 2 usage error (unknown command or flag, a bad value, flags that disagree);
                     130 cancelled (Ctrl+C)
        """;

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter output, TextWriter log)
    {
        if (args.Length == 0)
        {
            log.WriteLine(UsageText);
            return CommandErrors.Usage;
        }
        if (args[0] is "-h" or "--help" or "help" || (args[0] == "build" && args.Skip(1).Any(a => a is "-h" or "--help")))
        {
            output.WriteLine(UsageText);
            return CommandErrors.Success;
        }
        return CommandErrors.Run(() => args[0] switch
        {
            "build" => BuildCommand.Run(args[1..], output, log),
            _ => throw new UsageException($"unknown command '{args[0]}' (commands: build)"),
        }, log);
    }
}
