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
    TaskCompletionSource _idle = Completed();
    readonly List<TaskCompletionSource> _empty = [];
    bool _closed;

    static TaskCompletionSource Completed()
    {
        var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        t.SetResult();
        return t;
    }

    public int Capacity { get; } = capacity > 0 ? capacity : throw new ArgumentOutOfRangeException(nameof(capacity), "queue size must be positive");

    public int Depth
    {
        get { lock (_lock) return _items.Count; }
    }

    public bool IsBusy
    {
        get { lock (_lock) return _running is not null; }
    }

    /// <summary>True once <see cref="Close"/> ran (shutdown): nothing more is taken or admitted.</summary>
    public bool IsClosed
    {
        get { lock (_lock) return _closed; }
    }

    /// <summary>Completes when nothing runs and nothing waits (a replica of a shared store then claims its next job).</summary>
    public Task WhenEmpty()
    {
        lock (_lock)
        {
            if (_running is null && _items.Count == 0) return Task.CompletedTask;
            var t = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _empty.Add(t);
            return t.Task;
        }
    }

    /// <summary>The video jobs this process holds: the running one and those waiting.</summary>
    public IReadOnlyList<string> JobIds()
    {
        lock (_lock)
            return _items.Select(w => w.JobId).Append(_running?.JobId).OfType<string>().ToList();
    }

    /// <summary>Under the lock: releases <see cref="WhenEmpty"/> waiters once nothing runs or waits.</summary>
    void ReleaseEmptyWaiters()
    {
        if (_running is not null || _items.Count > 0 || _empty.Count == 0) return;
        foreach (var t in _empty) t.TrySetResult();
        _empty.Clear();
    }

    /// <summary>False when the queue is full or closed (shutdown; see <see cref="IsClosed"/>).</summary>
    public bool TryEnqueue(QueuedWork work)
    {
        lock (_lock)
        {
            if (_closed || _items.Count >= Capacity) return false;
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
                if (_closed) break; // draining: what waits stays queued (on disk, for video jobs)
                if (_items.First is not { } first) continue; // removed by Cancel before it ran
                _items.RemoveFirst();
                _running = first.Value;
                _runningCts = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                _idle = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                return (_running, _runningCts.Token);
            }
        }
        await Task.Delay(Timeout.Infinite, stopping);
        throw new OperationCanceledException(stopping);
    }

    /// <summary>Shutdown: admits and hands out nothing more; the running item (if any) goes on. Returns a task that
    /// completes when no item runs.</summary>
    public Task Close()
    {
        lock (_lock)
        {
            _closed = true;
            return _idle.Task; // a worker blocked in TakeAsync stays blocked until the host stops it
        }
    }

    /// <summary>Cancels the running item (shutdown past its grace period); returns a task that completes when it has stopped.</summary>
    public Task CancelRunning()
    {
        lock (_lock)
        {
            _runningCts?.Cancel();
            return _idle.Task;
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
            _idle.TrySetResult();
            ReleaseEmptyWaiters();
        }
    }

    /// <summary>Takes a waiting job out of the queue, or cancels it when it is running. False when the queue has no such job.</summary>
    public bool Cancel(string jobId)
    {
        lock (_lock)
        {
            for (var node = _items.First; node is not null; node = node.Next)
                if (node.Value.JobId == jobId) { _items.Remove(node); ReleaseEmptyWaiters(); return true; }
            if (_running?.JobId != jobId) return false;
            _runningCts?.Cancel();
            return true;
        }
    }

    /// <summary>Takes <paramref name="work"/> out of the queue if it is still waiting (its client went away: it must not
    /// hold a slot, and have others answered 429, until the worker reaches it); a running item is left alone.</summary>
    public bool Remove(QueuedWork work)
    {
        lock (_lock)
        {
            if (!_items.Remove(work)) return false;
            ReleaseEmptyWaiters();
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
            ReleaseEmptyWaiters();
        }
        foreach (var w in left) w.Abandon();
    }
}
