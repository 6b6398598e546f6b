namespace VisualGen.Server.Jobs.Postgres;

/// <summary>
/// What <see cref="StoreListener"/> hears from the store (NOTIFY), for this replica: work was queued (wakes the idle
/// <see cref="JobClaimer"/>) or a job changed (finished or deleted: wakes synchronous clients waiting on it, who then
/// read the job again). Waits are bounded, so a missed notification costs at most a poll interval.
/// </summary>
public sealed class StoreSignals
{
    readonly Lock _lock = new();
    TaskCompletionSource _work = New(), _changed = New();

    static TaskCompletionSource New() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void WorkQueued() => Release(ref _work);

    public void JobChanged() => Release(ref _changed);

    public Task WaitForWorkAsync(TimeSpan timeout, CancellationToken ct) => Wait(ref _work, timeout, ct);

    public Task WaitForChangeAsync(TimeSpan timeout, CancellationToken ct) => Wait(ref _changed, timeout, ct);

    void Release(ref TaskCompletionSource signal)
    {
        TaskCompletionSource fired;
        lock (_lock)
        {
            fired = signal;
            signal = New();
        }
        fired.TrySetResult();
    }

    Task Wait(ref TaskCompletionSource signal, TimeSpan timeout, CancellationToken ct)
    {
        Task t;
        lock (_lock) t = signal.Task;
        return Bounded(t, timeout, ct);
    }

    static async Task Bounded(Task signal, TimeSpan timeout, CancellationToken ct)
    {
        try
        {
            await signal.WaitAsync(timeout, ct);
        }
        catch (TimeoutException) { }
    }
}
