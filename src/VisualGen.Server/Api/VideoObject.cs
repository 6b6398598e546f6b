using VisualGen.Server.Jobs;

namespace VisualGen.Server.Api;

/// <summary>
/// OpenAI's video object (id, object "video", model, status, progress, created_at, completed_at,
/// expires_at, size, seconds, error) plus our extensions: prompt, num_frames, fps, num_inference_steps, seed, and
/// step_cache once a job that used a step cache completed (absent otherwise).
/// </summary>
public sealed record VideoObject(
    string Id, string Object, string Model, string Status, int Progress, long CreatedAt, long? CompletedAt, long? ExpiresAt,
    string Size, string Seconds, ErrorPart? Error, string Prompt, int NumFrames, int Fps, int NumInferenceSteps, long Seed,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    StepCacheSummary? StepCache)
{
    public static VideoObject From(VideoJob j, RetentionPolicy retention) => new(
        j.Id, "video", j.Model, j.Status, j.Progress, j.CreatedAt, j.CompletedAt, retention.ExpiresAt(j), j.Spec.Size, j.Spec.Seconds,
        j.Error is null ? null : new ErrorPart(j.Error.Code, j.Error.Message),
        j.Spec.Prompt, j.Spec.NumFrames, j.Spec.Fps, j.Spec.NumInferenceSteps, j.Spec.Seed, j.StepCache);
}

public sealed record ErrorPart(string Code, string Message);

/// <summary>OpenAI's list envelope.</summary>
public sealed record ListPage<T>(string Object, IReadOnlyList<T> Data, string? FirstId, string? LastId, bool HasMore);

/// <summary>DELETE's answer.</summary>
public sealed record DeletedObject(string Id, string Object, bool Deleted);
