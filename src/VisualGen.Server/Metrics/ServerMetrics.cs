using System.Globalization;
using System.Text;

namespace VisualGen.Server.Metrics;

/// <summary>
/// Request counters and latency histograms per route, rendered with gauges (queue depth, jobs by
/// status) in Prometheus' text exposition format 0.0.4.
/// </summary>
public sealed class ServerMetrics
{
    public static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

    readonly Lock _lock = new();
    readonly Dictionary<(string Method, string Route, int Status), long> _requests = [];
    readonly Dictionary<(string Method, string Route), Histogram> _latency = [];

    sealed class Histogram
    {
        public readonly long[] Buckets = new long[LatencyBuckets.Length];
        public long Count;
        public double Sum;
    }

    /// <summary>The methods recorded by name; any other is recorded as "OTHER" (HTTP takes any token as a method, and
    /// one label value per made-up method would let any client, no key needed, grow this table and /metrics without bound).</summary>
    static readonly HashSet<string> KnownMethods = new(StringComparer.Ordinal)
        { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT" };

    public void Record(string method, string route, int status, double seconds)
    {
        if (!KnownMethods.Contains(method)) method = "OTHER";
        lock (_lock)
        {
            _requests[(method, route, status)] = _requests.GetValueOrDefault((method, route, status)) + 1;
            if (!_latency.TryGetValue((method, route), out var h)) _latency[(method, route)] = h = new Histogram();
            for (int i = 0; i < LatencyBuckets.Length; i++)
                if (seconds <= LatencyBuckets[i]) h.Buckets[i]++;
            h.Count++;
            h.Sum += seconds;
        }
    }

    public string Render(int queueDepth, int queueCapacity, bool busy, IReadOnlyDictionary<string, int> jobsByStatus, Jobs.Postgres.ClaimTimings? claims = null)
    {
        var sb = new StringBuilder();
        sb.Append("# HELP visualgen_http_requests_total HTTP requests by method, route and status code.\n");
        sb.Append("# TYPE visualgen_http_requests_total counter\n");
        lock (_lock)
        {
            foreach (var ((m, r, s), n) in _requests.OrderBy(k => k.Key.Route).ThenBy(k => k.Key.Method).ThenBy(k => k.Key.Status))
                sb.Append($"visualgen_http_requests_total{{method=\"{m}\",route=\"{Escape(r)}\",status=\"{s}\"}} {n}\n");
            sb.Append("# HELP visualgen_http_request_duration_seconds HTTP request latency by method and route.\n");
            sb.Append("# TYPE visualgen_http_request_duration_seconds histogram\n");
            foreach (var ((m, r), h) in _latency.OrderBy(k => k.Key.Route).ThenBy(k => k.Key.Method))
            {
                string labels = $"method=\"{m}\",route=\"{Escape(r)}\"";
                for (int i = 0; i < LatencyBuckets.Length; i++)
                    sb.Append($"visualgen_http_request_duration_seconds_bucket{{{labels},le=\"{Num(LatencyBuckets[i])}\"}} {h.Buckets[i]}\n");
                sb.Append($"visualgen_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {h.Count}\n");
                sb.Append($"visualgen_http_request_duration_seconds_sum{{{labels}}} {Num(h.Sum)}\n");
                sb.Append($"visualgen_http_request_duration_seconds_count{{{labels}}} {h.Count}\n");
            }
        }
        sb.Append("# HELP visualgen_queue_depth Generation requests waiting for the worker.\n# TYPE visualgen_queue_depth gauge\n");
        sb.Append($"visualgen_queue_depth {queueDepth}\n");
        sb.Append("# HELP visualgen_queue_capacity Most requests that may wait; more are answered 429.\n# TYPE visualgen_queue_capacity gauge\n");
        sb.Append($"visualgen_queue_capacity {queueCapacity}\n");
        sb.Append("# HELP visualgen_worker_busy 1 while a generation runs.\n# TYPE visualgen_worker_busy gauge\n");
        sb.Append($"visualgen_worker_busy {(busy ? 1 : 0)}\n");
        sb.Append("# HELP visualgen_video_jobs Stored video jobs by status.\n# TYPE visualgen_video_jobs gauge\n");
        foreach (var (status, n) in jobsByStatus.OrderBy(k => k.Key))
            sb.Append($"visualgen_video_jobs{{status=\"{Escape(status)}\"}} {n}\n");
        if (claims is not null)
        {
            var (count, claim, waited) = claims.Snapshot();
            sb.Append("# HELP visualgen_job_claims_total Jobs this server claimed from the shared store.\n# TYPE visualgen_job_claims_total counter\n");
            sb.Append($"visualgen_job_claims_total {count}\n");
            sb.Append("# HELP visualgen_job_claim_seconds The claim statement's round trip, over the last 1024 claims.\n# TYPE visualgen_job_claim_seconds summary\n");
            sb.Append("# HELP visualgen_job_queued_seconds How long claimed jobs had waited queued, over the last 1024 claims.\n# TYPE visualgen_job_queued_seconds summary\n");
            string[] q = ["0.5", "0.95", "1"];
            for (int i = 0; i < 3; i++)
            {
                sb.Append($"visualgen_job_claim_seconds{{quantile=\"{q[i]}\"}} {Num(claim[i])}\n");
                sb.Append($"visualgen_job_queued_seconds{{quantile=\"{q[i]}\"}} {Num(waited[i])}\n");
            }
        }
        return sb.ToString();
    }

    static string Num(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    static string Escape(string s) => s.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n");
}
