using System.Diagnostics;

namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// Renews the lease of the jobs this replica holds every quarter lease, so no other replica takes them while it lives.
/// A held job that is no longer this replica's (deleted, or taken after its lease ran out) is stopped; so is the running
/// job when its lease could not be renewed for half a lease (the store is unreachable): by the time another replica can
/// take it, this one has let it go, so a job never runs on two replicas at once. The renewals run on a thread of their
/// own over connections of their own (<see cref="PostgresJobStore.RenewLeases"/>): a burst of requests that holds every
/// pool thread and pooled connection cannot delay them past the lease.
/// </summary>
public sealed class LeaseHeartbeat(PostgresJobStore store, WorkQueue queue, ILogger<LeaseHeartbeat> log) : IHostedService, IDisposable
{
    readonly CancellationTokenSource _stop = new();
    Thread? _thread;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "lease heartbeat" };
        _thread.Start();
        return Task.CompletedTask;
    }

    /// <summary>Runs after the shutdown drain (which may still be finishing a job whose lease this keeps).</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _stop.Cancel();
        _thread?.Join(TimeSpan.FromSeconds(10));
        return Task.CompletedTask;
    }

    void Run()
    {
        var interval = store.Lease / 4;
        long lastRenewal = Stopwatch.GetTimestamp();
        while (!_stop.Token.WaitHandle.WaitOne(interval))
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
            catch (Exception e)
            {
                log.LogError(e, "lease renewal failed: {Message}", e.Message); // a bug: logged, the thread goes on
            }
        }
    }

    public void Dispose() => _stop.Dispose();
}
