namespace VisualGen.Server.Jobs;

/// <summary>
/// Video job records and their state transitions. <see cref="JobStore"/> keeps them in this process's data folder (the
/// embedded default); <see cref="Postgres.PostgresJobStore"/> keeps them in PostgreSQL, shared by every replica of a
/// deployment, which claim the queued ones (<see cref="Postgres.JobClaimer"/>). Files (videos, input images) live in
/// <see cref="Outputs"/>.
/// </summary>
public interface IJobStore
{
    /// <summary>True when other replicas share the store: jobs are claimed from it rather than queued in this process.</summary>
    bool IsShared { get; }

    IOutputStore Outputs { get; }

    long NextSequence();

    /// <summary>Stores a new queued job; <paramref name="inputPng"/> (required when the job has an input reference) is
    /// stored first, so a stored job never lacks its image. False when a shared store already holds
    /// <paramref name="queueBound"/> queued jobs (nothing is kept); the data folder's store leaves the bound to this
    /// process's queue and always adds.</summary>
    bool Add(VideoJob job, byte[]? inputPng, int queueBound);

    VideoJob? Get(string id);

    /// <summary>Applies a change to a job that still exists (in a shared store: that this replica still owns while it
    /// runs); null when it was deleted (or taken by another replica). <paramref name="persist"/> false may keep it in
    /// memory only (progress ticks).</summary>
    VideoJob? Update(string id, Func<VideoJob, VideoJob> change, bool persist = true);

    /// <summary>A final state, kept in memory at least when the store refuses it; false when it could not be saved, null
    /// when the job is gone.</summary>
    bool? Finish(string id, Func<VideoJob, VideoJob> change);

    /// <summary>Removes a job and its files; false when there was none. Throws a <see cref="StorageException"/> when the
    /// record cannot be deleted (the job stays).</summary>
    bool Delete(string id);

    /// <summary>Completes when the job is completed or failed (its final state) or deleted (null).</summary>
    Task<VideoJob?> WaitFinishedAsync(string id, CancellationToken ct);

    /// <summary>One page in submission order: jobs after the cursor id, up to limit, and whether more follow; null when
    /// the store knows no such id. A cursor deleted after it was listed (by a client, by retention) still marks its place,
    /// so paging goes on past it (the data folder's store remembers the last <see cref="JobStore.RemovedCursors"/> deleted
    /// ids while it runs, the shared store a day of them).</summary>
    (IReadOnlyList<VideoJob> Page, bool HasMore)? List(string? after, int limit, bool descending);

    /// <summary>Completed and failed jobs with the bytes they hold, the earliest finished first (for retention).</summary>
    IReadOnlyList<(VideoJob Job, long Bytes)> FinishedWithBytes();

    /// <summary>Bytes held by queued and running jobs: counted by retention's size bound, never evicted.</summary>
    long UnfinishedBytes();

    IReadOnlyDictionary<string, int> CountByStatus();

    /// <summary>Moves a finished video into <see cref="Outputs"/> unless the job was deleted meanwhile (then drops it); false when dropped.</summary>
    bool CommitVideo(string id, string tempPath);
}
