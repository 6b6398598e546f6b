using VisualGen.Exporter.Commands;

namespace VisualGen.Cli;

/// <summary>The command line's exit statuses, one convention for every command of both entry points
/// (<see cref="CommandErrors"/>; the usage text and README list them).</summary>
public static class ExitCode
{
    public const int Success = CommandErrors.Success;
    /// <summary>The command ran and failed: a model, engine, input or output file missing, unreadable or unwritable;
    /// ffmpeg missing; an engine failure.</summary>
    public const int Failure = CommandErrors.Failure;
    /// <summary>The command line is wrong: an unknown command or flag, a malformed value, flags that disagree, or a
    /// request the model refuses (size, frames, steps, an image or latents it cannot take).</summary>
    public const int Usage = CommandErrors.Usage;
    /// <summary>Cancelled with Ctrl+C.</summary>
    public const int Cancelled = CommandErrors.Cancelled;
}
