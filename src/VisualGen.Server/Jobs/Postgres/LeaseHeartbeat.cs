using System.Diagnostics;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// Renews the lease of the jobs this replica holds every quarter lease, so no other replica takes them while it lives.
/// A held job that is no longer this replica's (deleted, or taken after its lease ran out) is stopped; so is the running
/// job when its lease could not be renewed for half a lease (the store is unreachable): by the time another replica can
/// take it, this one has let it go, so a job never runs on two replicas at once.
/// </summary>
public sealed class LeaseHeartbeat(PostgresJobStore store, WorkQueue queue, ILogger<LeaseHeartbeat> log) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(store.Lease / 4);
        long lastRenewal = Stopwatch.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var held = queue.JobIds();
                if (held.Count == 0) { lastRenewal = Stopwatch.GetTimestamp(); continue; }
                long sent = Stopwatch.GetTimestamp();
                try
                {
                    var renewed = store.RenewLeases(held);
                    lastRenewal = sent;
                    foreach (var id in held.Where(id => !renewed.Contains(id)))
                        if (queue.Cancel(id)) log.LogWarning("job {JobId} is no longer this server's (deleted, or its lease was taken): stopped", id);
                }
                catch (StoreUnavailableException e) when (Stopwatch.GetElapsedTime(lastRenewal) > store.Lease / 2)
                {
                    foreach (var id in held)
                        if (queue.Cancel(id))
                            log.LogWarning("job {JobId}: its lease could not be renewed for {Seconds:F1} s ({Message}); stopped, the job runs again once the store is back",
                                id, Stopwatch.GetElapsedTime(lastRenewal).TotalSeconds, e.Message);
                }
                catch (StoreUnavailableException) { } // within the lease: the next tick tries again
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }
}
