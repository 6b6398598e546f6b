using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs;

/// <summary>
/// How long stored media lives (--retention-max-age) and how much of it may be kept (--retention-max-bytes). A finished
/// video job expires its max age after it completed or failed (its expires_at); a URL image, after it was written.
/// Jobs that are queued or running never expire and are never evicted.
/// </summary>
public sealed class RetentionPolicy(ServerOptions options)
{
    public TimeSpan? MaxAge => options.RetentionMaxAge;
    public long? MaxBytes => options.RetentionMaxBytes;
    public bool Enabled => MaxAge is not null || MaxBytes is not null;

    /// <summary>Unix seconds at which the job and its files are deleted; null while it is unfinished or without a max age.</summary>
    public long? ExpiresAt(VideoJob job) =>
        MaxAge is { } age && JobStatus.IsFinished(job.Status) && job.CompletedAt is long done
            ? done + (long)Math.Ceiling(age.TotalSeconds)
            : null;

    public bool IsExpired(VideoJob job, DateTimeOffset now) => ExpiresAt(job) is long at && now.ToUnixTimeSeconds() >= at;

    public bool IsExpired(StoredImage image, DateTimeOffset now) => MaxAge is { } age && image.WrittenAt + age <= now;
}
