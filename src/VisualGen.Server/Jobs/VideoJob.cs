using VisualGen.Server.Api;

namespace VisualGen.Server.Jobs;

/// <summary>One video job as stored in data/jobs/{id}.json. Immutable: updates make a new record.</summary>
public sealed record VideoJob
{
    public required string Id { get; init; }
    public required string Model { get; init; }
    public required GenerationSpec Spec { get; init; }
    public required string Status { get; init; }
    /// <summary>0-100.</summary>
    public int Progress { get; init; }
    /// <summary>Unix seconds.</summary>
    public required long CreatedAt { get; init; }
    public long? StartedAt { get; init; }
    public long? CompletedAt { get; init; }
    /// <summary>Submission order, for listing and re-queueing after a restart (created_at has only seconds).</summary>
    public required long Sequence { get; init; }
    public JobError? Error { get; init; }
    /// <summary>True when the job has an input reference image (image-to-video), stored as data/inputs/{id}.png.</summary>
    public bool HasInputReference { get; init; }
    /// <summary>What the request's step cache did, once the job completed; null without a step cache.</summary>
    public StepCacheSummary? StepCache { get; init; }
}

public sealed record JobError(string Code, string Message);
