using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;

namespace VisualGen.Exporter;

/// <summary><c>dotnet run --project exporter -- build --model DIR [--components ...] [--cache DIR]</c>.</summary>
public static class ExporterApp
{
    public static int Run(string[] args)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            Console.Error.WriteLine("usage: dotnet run --project exporter -- build --model DIR [--components transformer,vae.decoder,...] [--cache DIR] [--engine ort-cpu|ort-cuda|native-cuda]");
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "build" => BuildCommand.Run(args[1..], Console.Out, Console.Error),
                _ => throw new UsageException($"unknown command '{args[0]}' (commands: build)"),
            };
        }
        catch (UsageException e) { Console.Error.WriteLine($"error: {e.Message}"); return 2; }
        catch (Exception e) when (e is CheckpointException or EngineException)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
    }
}
