using VisualGen.Server.Api;
using VisualGen.Server.Hosting;
using VisualGen.Server.Media;

namespace VisualGen.Server.Jobs;

/// <summary>Submits, restores and deletes video jobs: the store and the queue kept in step.</summary>
public sealed class JobService(JobStore store, WorkQueue queue, ModelRegistry models, IMediaEncoder encoder, TimeProvider clock,
    ILogger<JobService> log)
{
    public JobStore Store => store;

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
        store.Add(job, inputReference);
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
        long now = clock.GetUtcNow().ToUnixTimeSeconds();
        var jobs = store.Load(now, (path, e) => log.LogError(e, "skipping unreadable job file {Path}: {Message}", path, e.Message));
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
        log.LogInformation("restored {Count} jobs from disk, {Requeued} re-queued", jobs.Count, requeued);
    }

    /// <summary>Deletes a job whatever its state: a queued one leaves the queue, a running one is cancelled.</summary>
    /// <remarks>The record goes first: when the data folder refuses that, a <see cref="StorageException"/> leaves the job as it was, queued or running.</remarks>
    public bool Delete(string id)
    {
        if (!store.Delete(id)) return false;
        queue.Cancel(id); // after: a worker that takes it meanwhile finds no job and skips it
        return true;
    }

    /// <summary>Seconds a client told "queue full" waits before retrying (Retry-After): about one short generation.</summary>
    public const int QueueFullRetryAfterSeconds = 10;

    public static ApiException QueueFull(WorkQueue queue) =>
        new(StatusCodes.Status429TooManyRequests, "rate_limit_error", null, "queue_full",
            $"The generation queue is full ({queue.Capacity} requests waiting); retry in {QueueFullRetryAfterSeconds} seconds.")
        { RetryAfterSeconds = QueueFullRetryAfterSeconds };

    VideoJobWork Work(ServedModel model, string id) => new(model, id, store, encoder, clock, log);
}
