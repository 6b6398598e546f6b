using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs;

/// <summary>
/// Deletes what the <see cref="RetentionPolicy"/> no longer keeps: expired finished video jobs (record, MP4, input
/// image) and URL images, then, while the stored bytes exceed the bound, the oldest finished jobs and images. Runs
/// once at startup (<see cref="Sweep"/>, before the server listens) and then every --retention-sweep.
/// </summary>
public sealed class RetentionSweeper(RetentionPolicy policy, IJobStore store, ImageFiles images, ServerOptions options, TimeProvider clock,
    ILogger<RetentionSweeper> log) : BackgroundService
{
    /// <summary>Something the size bound may delete: a finished job or a URL image, oldest first.</summary>
    sealed record Evictable(DateTimeOffset When, long Bytes, string Id, bool IsImage);

    public void Sweep()
    {
        if (!policy.Enabled) return;
        var now = clock.GetUtcNow();
        int deletedJobs = 0, deletedImages = 0;
        long freed = 0;
        var left = new List<Evictable>();
        foreach (var (job, bytes) in store.FinishedWithBytes())
        {
            if (policy.IsExpired(job, now)) { if (Deleted(() => store.Delete(job.Id))) { deletedJobs++; freed += bytes; } }
            else left.Add(new Evictable(DateTimeOffset.FromUnixTimeSeconds(job.CompletedAt ?? job.CreatedAt), bytes, job.Id, false));
        }
        foreach (var image in images.List())
        {
            if (policy.IsExpired(image, now)) { if (Deleted(() => images.Delete(image.Id))) { deletedImages++; freed += image.Bytes; } }
            else left.Add(new Evictable(image.WrittenAt, image.Bytes, image.Id, true));
        }
        if (policy.MaxBytes is long max)
        {
            long total = store.UnfinishedBytes() + left.Sum(e => e.Bytes);
            foreach (var e in left.OrderBy(e => e.When))
            {
                if (total <= max) break;
                bool deleted = Deleted(() => e.IsImage ? images.Delete(e.Id) : store.Delete(e.Id));
                if (!deleted) continue;
                if (e.IsImage) deletedImages++; else deletedJobs++;
                total -= e.Bytes;
                freed += e.Bytes;
            }
            if (total > max)
                log.LogWarning("retention: {Bytes} bytes stored exceed --retention-max-bytes {Max}: the rest belongs to queued or running jobs", total, max);
        }
        if (deletedJobs + deletedImages > 0)
            log.LogInformation("retention: deleted {Jobs} video jobs and {Images} images ({Bytes} bytes)", deletedJobs, deletedImages, freed);
    }

    /// <summary>A delete the data folder refuses is logged and left to the next sweep; /health reports the folder.</summary>
    bool Deleted(Func<bool> delete)
    {
        try
        {
            return delete();
        }
        catch (StorageException e)
        {
            log.LogError(e, "retention: {Message}", e.Message);
            return false;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!policy.Enabled) return;
        using var timer = new PeriodicTimer(options.RetentionSweepInterval, clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    Sweep();
                }
                catch (Exception e) when (StorageException.IsStorageFault(e))
                {
                    log.LogError(e, "retention: sweep failed, retried at the next tick: {Message}", e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
