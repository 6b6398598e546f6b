namespace VisualGen.Engines.Cuda.Runtime;

/// <summary>
/// Shape plans by key, least recently used first out when their device memory passes <see cref="MaxBytes"/> (a server
/// that sees many sizes would otherwise keep every size's buffers and CUDA graph). The plan in use is never evicted,
/// so one plan larger than the cap still runs. Evicted plans are disposed.
/// </summary>
internal sealed class PlanCache<T>(Func<T, long> bytesOf) : IDisposable where T : class, IDisposable
{
    readonly Dictionary<string, LinkedListNode<(string Key, T Plan)>> _byKey = new(StringComparer.Ordinal);
    readonly LinkedList<(string Key, T Plan)> _recency = new();   // most recent first

    /// <summary>Device bytes the cached plans may hold together (default 16 GiB).</summary>
    public long MaxBytes { get; set; } = 16L << 30;
    public long Bytes { get; private set; }
    public int Count => _byKey.Count;
    public int Evictions { get; private set; }
    public IEnumerable<T> Plans => _recency.Select(e => e.Plan);

    public bool TryGet(string key, out T plan)
    {
        if (_byKey.TryGetValue(key, out var node))
        {
            _recency.Remove(node);
            _recency.AddFirst(node);
            plan = node.Value.Plan;
            return true;
        }
        plan = null!;
        return false;
    }

    /// <summary>Adds <paramref name="plan"/> as the most recent, then evicts from the least recent until the total fits.</summary>
    public void Add(string key, T plan)
    {
        if (_byKey.ContainsKey(key)) throw new InvalidOperationException($"plan '{key}' is already cached");
        _byKey[key] = _recency.AddFirst((key, plan));
        Bytes += bytesOf(plan);
        while (Bytes > MaxBytes && _recency.Last is { } last && last.Value.Plan != plan)
        {
            _recency.RemoveLast();
            _byKey.Remove(last.Value.Key);
            Bytes -= bytesOf(last.Value.Plan);
            Evictions++;
            last.Value.Plan.Dispose();
        }
    }

    public void Clear()
    {
        foreach (var (_, p) in _recency) p.Dispose();
        _recency.Clear();
        _byKey.Clear();
        Bytes = 0;
    }

    public void Dispose() => Clear();
}
