using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Schedulers;

namespace VisualGen.Cli;

/// <summary>The <c>visualgen</c> command line: generate, info, build. Errors from user data are one line, never a stack trace.</summary>
public static class CliApp
{
    const string Usage = """
        usage: visualgen <command> [flags]
          generate  [--model DIR] --prompt TEXT [--negative-prompt TEXT] [--height N] [--width N] [--frames N]
                    [--steps N] [--guidance-scale X] [--guidance-scale-2 X] [--true-cfg-scale X] [--shift X] [--seed N]
                    [--max-sequence-length N] [--image FILE] [--latents FILE] [--save-tensors FILE]
                    [--output PATH] [--format mp4|png] [--engine ort-cpu|ort-cuda|native-cuda] [--engine-cache DIR]
                    [--attention bf16|fp8]   (fp8: self-attention in FP8 on native-cuda)
                    Without --model, a built-in tiny demo model (random weights) is used.
          info      --model DIR
          build     --model DIR [--components a,b] [--cache DIR] [--engine ort-cpu|ort-cuda|native-cuda] [--verify full|changed]
        """;

    public static int Run(string[] args) => Run(args, Console.Out, Console.Error);

    public static int Run(string[] args, TextWriter output, TextWriter log)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? log : output).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "generate" => GenerateCommand.Run(args[1..], output, log),
                "info" => InfoCommand.Run(args[1..], output),
                "build" => BuildCommand.Run(args[1..], output, log),
                _ => throw new UsageException($"unknown command '{args[0]}' (commands: generate, info, build)"),
            };
        }
        catch (UsageException e)
        {
            log.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (GenerationException e)
        {
            log.WriteLine($"error: {e.Parameter}: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is CheckpointException or EngineException or MediaException or SchedulerException)
        {
            log.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("cancelled");
            return 130;
        }
    }
}
