namespace VisualGen.Server.Jobs;

/// <summary>
/// First-in first-out work for the single worker, bounded: <see cref="TryEnqueue"/> refuses once
/// <see cref="Capacity"/> items wait (the running one is not counted). Items re-queued at startup
/// bypass the bound, so a restart never drops stored jobs.
/// </summary>
public sealed class WorkQueue(int capacity)
{
    readonly Lock _lock = new();
    readonly LinkedList<QueuedWork> _items = new();
    readonly SemaphoreSlim _signal = new(0);
    QueuedWork? _running;
    CancellationTokenSource? _runningCts;

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), "queue size must be positive");

    public int Depth
    {
        get { lock (_lock) return _items.Count; }
    }

    public bool IsBusy
    {
        get { lock (_lock) return _running is not null; }
    }

    public bool TryEnqueue(QueuedWork work)
    {
        lock (_lock)
        {
            if (_items.Count >= Capacity) return false;
            _items.AddLast(work);
        }
        _signal.Release();
        return true;
    }

    /// <summary>Adds stored work at startup, whatever the bound.</summary>
    public void Requeue(QueuedWork work)
    {
        lock (_lock) _items.AddLast(work);
        _signal.Release();
    }

    /// <summary>Waits for the next item and marks it running; <paramref name="runToken"/> is cancelled by <see cref="Cancel"/> or shutdown.</summary>
    public async Task<(QueuedWork Work, CancellationToken RunToken)> TakeAsync(CancellationToken stopping)
    {
        while (true)
        {
            await _signal.WaitAsync(stopping);
            lock (_lock)
            {
                if (_items.First is not { } first) continue; // removed by Cancel before it ran
                _items.RemoveFirst();
                _running = first.Value;
                _runningCts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                return (_running, _runningCts.Token);
            }
        }
    }

    public void Finished(QueuedWork work)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_running, work)) return;
            _running = null;
            _runningCts?.Dispose();
            _runningCts = null;
        }
    }

    /// <summary>Takes a waiting job out of the queue, or cancels it when it is running. False when the queue has no such job.</summary>
    public bool Cancel(string jobId)
    {
        lock (_lock)
        {
            for (var node = _items.First; node is not null; node = node.Next)
                if (node.Value.JobId == jobId) { _items.Remove(node); return true; }
            if (_running?.JobId != jobId) return false;
            _runningCts?.Cancel();
            return true;
        }
    }

    /// <summary>Empties the queue at shutdown, telling each item it will not run.</summary>
    public void Drain()
    {
        List<QueuedWork> left;
        lock (_lock)
        {
            left = [.. _items];
            _items.Clear();
        }
        foreach (var w in left) w.Abandon();
    }
}
