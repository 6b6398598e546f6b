using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Quantization;
using VisualGen.Schedulers;

namespace VisualGen.Server.Hosting;

/// <summary>The one line the server prints when it cannot start.</summary>
public static class StartupError
{
    /// <summary>Our exceptions already name the file or argument; others get their type so a bug is recognisable.</summary>
    public static string Describe(Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } a) e = a.InnerException!;
        string message = e.Message.ReplaceLineEndings(" ");
        return e is CheckpointException or GenerationException or EngineException or UsageException or SchedulerException
            or MediaException or QuantizationException
            or IOException or UnauthorizedAccessException or Jobs.Postgres.StoreUnavailableException
            ? message
            : $"{e.GetType().Name}: {message}";
    }
}
