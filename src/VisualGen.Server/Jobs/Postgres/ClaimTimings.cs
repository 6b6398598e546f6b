namespace VisualGen.Server.Jobs.Postgres;

/// <summary>The last claims' durations (the claim statement's round trip) and queue waits, for /metrics' quantiles.</summary>
public sealed class ClaimTimings
{
    const int Kept = 1024;
    readonly Lock _lock = new();
    readonly Queue<(double Claim, double Waited)> _last = new();
    long _count;

    public void Add(TimeSpan claim, TimeSpan waited)
    {
        lock (_lock)
        {
            _count++;
            _last.Enqueue((claim.TotalSeconds, waited.TotalSeconds));
            if (_last.Count > Kept) _last.Dequeue();
        }
    }

    /// <summary>Claims so far, and the p50/p95/max of the last ones (seconds): the claim statement and the time queued before it.</summary>
    public (long Count, double[] Claim, double[] Waited) Snapshot()
    {
        lock (_lock)
            return (_count, Quantiles(_last.Select(t => t.Claim)), Quantiles(_last.Select(t => t.Waited)));
    }

    static double[] Quantiles(IEnumerable<double> values)
    {
        var v = values.Order().ToArray();
        if (v.Length == 0) return [0, 0, 0];
        return [v[(v.Length - 1) / 2], v[(int)Math.Ceiling(0.95 * (v.Length - 1))], v[^1]];
    }
}
