using VisualGen.Server.Hosting;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// Feeds this replica's worker from the shared store: whenever the worker has nothing to run or waiting, it queues again
/// the jobs whose lease ran out, then claims the oldest queued job of a model this replica serves and hands it to the
/// worker. Idle, it waits for a "queued" notification or <see cref="PollInterval"/> (leases expire without one).
/// Stops claiming once the shutdown drain has closed the queue.
/// </summary>
public sealed class JobClaimer(PostgresJobStore store, WorkQueue queue, ModelRegistry models, JobService jobs, StoreSignals signals, ClaimTimings timings,
    TimeProvider clock, ILogger<JobClaimer> log) : BackgroundService
{
    TimeSpan PollInterval => TimeSpan.FromSeconds(Math.Min(1, store.Lease.TotalSeconds / 4));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var served = models.All.Select(m => m.Id).ToList();
        bool unreachable = false;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await queue.WhenEmpty().WaitAsync(stoppingToken);
                if (queue.IsClosed) break; // draining: what is queued stays in the store for the other replicas
                var woken = signals.WaitForWorkAsync(PollInterval, stoppingToken); // before looking: work queued meanwhile wakes it
                try
                {
                    foreach (var id in store.RequeueExpired())
                        log.LogWarning("job {JobId}: its server's lease ran out (it died or lost the store); queued again", id);
                    var started = System.Diagnostics.Stopwatch.GetTimestamp();
                    var claim = store.TryClaim(served, clock.GetUtcNow().ToUnixTimeSeconds());
                    if (unreachable) log.LogInformation("job store {Store}: reachable again", store.Address.Display);
                    unreachable = false;
                    if (claim is not null)
                    {
                        timings.Add(System.Diagnostics.Stopwatch.GetElapsedTime(started), claim.Waited);
                        log.LogInformation("job {JobId} claimed after {Waited:F3} s queued", claim.Job.Id, claim.Waited.TotalSeconds);
                        queue.Requeue(jobs.Work(models.Find(claim.Job.Model)!, claim.Job.Id));
                        continue;
                    }
                }
                catch (StoreUnavailableException e)
                {
                    if (!unreachable) log.LogWarning("job store unreachable, retrying: {Message}", e.Message);
                    unreachable = true;
                }
                await woken;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
