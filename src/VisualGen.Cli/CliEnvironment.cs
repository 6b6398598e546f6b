namespace VisualGen.Cli;

/// <summary>What the command line reads from its surroundings, passed in so tests can set it without touching the
/// process: the PATH searched for ffmpeg, and whether stderr is a terminal (a redrawn progress bar) or not (plain lines).</summary>
public sealed record CliEnvironment
{
    /// <summary>Folders to search for ffmpeg, PATH-style; null: the PATH environment variable.</summary>
    public string? FfmpegSearchPath { get; init; }

    /// <summary>True when stderr is a terminal.</summary>
    public bool LogIsTerminal { get; init; }

    /// <summary>This process: PATH, and a terminal when stderr is not redirected.</summary>
    public static CliEnvironment FromProcess() => new() { LogIsTerminal = !Console.IsErrorRedirected };
}
