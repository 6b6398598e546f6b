using VisualGen.Server.Api;
using VisualGen.Server.Hosting;
using VisualGen.Server.Media;

namespace VisualGen.Server.Jobs;

/// <summary>Submits, restores and deletes video jobs: the store and the queue kept in step. With a shared store
/// (<see cref="IJobStore.IsShared"/>) a job is only stored: the replicas' <see cref="Postgres.JobClaimer"/>s take it from there.</summary>
public sealed class JobService(IJobStore store, WorkQueue queue, ModelRegistry models, IMediaEncoder encoder, TimeProvider clock,
    ILogger<JobService> log)
{
    public IJobStore Store => store;

    /// <summary>Stores a new queued job (with its input reference PNG, for image-to-video) and queues it; a full queue is a 429 and nothing is kept.</summary>
    public VideoJob Submit(ServedModel model, GenerationSpec spec, byte[]? inputReference = null)
    {
        var job = new VideoJob
        {
            Id = JobId.New(JobId.VideoPrefix),
            Model = model.Id,
            Spec = spec,
            Status = JobStatus.Queued,
            CreatedAt = clock.GetUtcNow().ToUnixTimeSeconds(),
            Sequence = store.NextSequence(),
            HasInputReference = inputReference is not null,
        };
        if (store.IsShared)
        {
            if (queue.IsClosed) throw ShutdownDrain.ShuttingDown();
            if (!store.Add(job, inputReference, queue.Capacity)) throw QueueFull(queue, shared: true);
            log.LogInformation("job {JobId} queued in the shared store", job.Id);
            return job;
        }
        store.Add(job, inputReference, queue.Capacity);
        if (!queue.TryEnqueue(Work(model, job.Id)))
        {
            store.Delete(job.Id);
            throw queue.IsClosed ? ShutdownDrain.ShuttingDown() : QueueFull(queue);
        }
        log.LogInformation("job {JobId} queued ({Depth} waiting)", job.Id, queue.Depth);
        return job;
    }

    /// <summary>At startup: reads the data folder, re-queues queued jobs in submission order (see <see cref="JobStore.Load"/> for in_progress ones).</summary>
    public void Restore()
    {
        if (store is not JobStore disk)
        {
            // a shared store keeps its jobs where they are: queued ones wait for a claim, those of a replica that died are
            // re-queued when their lease expires
            var counts = store.CountByStatus();
            var shared = (Postgres.PostgresJobStore)store;
            log.LogInformation("job store {Store} (schema version {Version}{Applied}): {Queued} queued, {Running} in progress, {Finished} finished",
                shared.Address.Display, Postgres.JobStoreSchema.Latest,
                shared.AppliedMigrations.Count == 0 ? "" : $", applied migrations {string.Join(", ", shared.AppliedMigrations)} now",
                counts[JobStatus.Queued], counts[JobStatus.InProgress], counts[JobStatus.Completed] + counts[JobStatus.Failed]);
            return;
        }
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        var jobs = disk.Load(now, (path, e) => log.LogError(e, "skipping unreadable job file {Path}: {Message}", path, e.Message));
        int requeued = 0;
        foreach (var job in jobs.Where(j => j.Status == JobStatus.Queued))
        {
            if (models.Find(job.Model) is { } model)
            {
                queue.Requeue(Work(model, job.Id));
                requeued++;
            }
            else
            {
                store.Update(job.Id, j => j with
                {
                    Status = JobStatus.Failed,
                    CompletedAt = now,
                    Error = new JobError("model_not_found", $"the server no longer serves model '{job.Model}'"),
                });
            }
        }
        log.LogInformation("restored {Count} jobs from {JobsDir}, {Requeued} re-queued", jobs.Count, disk.JobsDirectory, requeued);
    }

    /// <summary>Deletes a job whatever its state: a queued one leaves the queue, a running one is cancelled (on another
    /// replica of a shared store: by that replica, which finds its job gone).</summary>
    /// <remarks>The record goes first: when the data folder refuses that, a <see cref="StorageException"/> leaves the job as it was, queued or running.</remarks>
    public bool Delete(string id)
    {
        if (!store.Delete(id)) return false;
        queue.Cancel(id); // after: a worker that takes it meanwhile finds no job and skips it
        return true;
    }

    /// <summary>Seconds a client told "queue full" waits before retrying (Retry-After): about one short generation.</summary>
    public const int QueueFullRetryAfterSeconds = 10;

    public static ApiException QueueFull(WorkQueue queue, bool shared = false) =>
        new(StatusCodes.Status429TooManyRequests, "rate_limit_error", null, "queue_full",
            $"The generation queue is full ({queue.Capacity} {(shared ? "video jobs waiting across the servers" : "requests waiting")}); retry in {QueueFullRetryAfterSeconds} seconds.")
        { RetryAfterSeconds = QueueFullRetryAfterSeconds };

    /// <summary>The work that runs a stored job on this replica's worker.</summary>
    public VideoJobWork Work(ServedModel model, string id) => new(model, id, store, encoder, clock, log);
}
