namespace VisualGen.Server.Jobs;

/// <summary>OpenAI's video status values.</summary>
public static class JobStatus
{
    public const string Queued = "queued";
    public const string InProgress = "in_progress";
    public const string Completed = "completed";
    public const string Failed = "failed";

    public static readonly string[] All = [Queued, InProgress, Completed, Failed];

    public static bool IsFinished(string status) => status is Completed or Failed;
}
