using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Quantization;
using VisualGen.Schedulers;

namespace VisualGen.Exporter.Commands;

/// <summary>
/// How every command of both entry points (<c>visualgen</c> and <c>dotnet run --project exporter</c>) ends: errors
/// from user data are one line on the log, never a stack trace, with one exit status convention: 0 success; 1 the
/// command ran and failed (a model, engine, input or output file missing, unreadable or unwritable; ffmpeg missing; an
/// engine failure); 2 usage error (unknown command or flag, a bad value, flags that disagree, a request the model
/// refuses); 130 cancelled.
/// </summary>
public static class CommandErrors
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;

    public static int Run(Func<int> command, TextWriter log)
    {
        try
        {
            return command();
        }
        catch (UsageException e)
        {
            log.WriteLine($"error: {e.Message}");
            return Usage;
        }
        catch (GenerationException e)
        {
            log.WriteLine($"error: {e.Parameter}: {e.Message}");
            return Usage;
        }
        catch (Exception e) when (e is UnmatchedIgnorePatternsException or QuantizationRequestException)
        {
            // before the other QuantizationExceptions (a checkpoint or tensor problem, exit 1): a --quant-ignore (or
            // --config) pattern that matches no module is a bad value, as quantize's --ignore one is; quantizing a
            // checkpoint that is already quantized is a request the model refuses
            log.WriteLine($"error: {e.Message}");
            return Usage;
        }
        catch (Exception e) when (e is CheckpointException or EngineException or MediaException or SchedulerException or QuantizationException)
        {
            log.WriteLine($"error: {e.Message}");
            return Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a file-system failure no check foresaw (the disk filled, a folder vanished): still one line
            log.WriteLine($"error: {e.Message}");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("cancelled");
            return Cancelled;
        }
    }
}
