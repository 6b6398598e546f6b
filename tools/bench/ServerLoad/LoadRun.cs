using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace VisualGen.Tools.ServerLoad;

/// <summary>What one load run asks of a server.</summary>
public sealed record LoadOptions
{
    public required Uri Server { get; init; }
    /// <summary>More servers of one deployment (replicas on a shared store): submissions go round-robin over
    /// <see cref="Server"/> and these; each job is polled on the server that took it.</summary>
    public IReadOnlyList<Uri> Replicas { get; init; } = [];
    public int Requests { get; init; } = 50;
    public string Prompt { get; init; } = "A red fox runs across a snowy field at dawn.";
    public string? Size { get; init; }
    public int? NumFrames { get; init; }
    public int? Steps { get; init; }
    public string? ApiKey { get; init; }
    /// <summary>Bound on the whole run, submission and completion.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(20);
}

/// <summary>The outcome: every request's status, every accepted job's final state, and whether the server still answered.</summary>
public sealed record LoadResult(
    int Requests, int Accepted, int Rejected429, int OtherStatus, int Lost, int Completed, int Failed, int Unfinished,
    bool HealthyAfter, double SubmitSeconds, double DrainSeconds, IReadOnlyList<double> JobSeconds, IReadOnlyList<string> Problems)
{
    /// <summary>Completed jobs per second, from the first submission to the last job finished.</summary>
    public double JobsPerSecond => DrainSeconds > 0 ? Completed / DrainSeconds : 0;

    public bool Passed => Lost == 0 && OtherStatus == 0 && Accepted + Rejected429 == Requests && Completed == Accepted && HealthyAfter && Problems.Count == 0;
}

/// <summary>
/// Sends N POST /v1/videos at once (all released together), then polls every accepted job until it
/// is completed or failed. Traffic goes only to the given server; the run is bounded in count and time.
/// </summary>
public static class LoadRun
{
    public static async Task<LoadResult> RunAsync(LoadOptions o, CancellationToken ct = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(o.Timeout);
        var clients = new[] { o.Server }.Concat(o.Replicas).Select(u =>
        {
            var c = new HttpClient { BaseAddress = u, Timeout = Timeout.InfiniteTimeSpan };
            if (o.ApiKey is not null) c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", o.ApiKey);
            return c;
        }).ToList();
        using var http = clients[0];
        var problems = new List<string>();

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sw = Stopwatch.StartNew();
        var sends = Enumerable.Range(0, o.Requests).Select(async i =>
        {
            await start.Task;
            var body = new Dictionary<string, object> { ["prompt"] = $"{o.Prompt} #{i}", ["seed"] = i };
            if (o.Size is not null) body["size"] = o.Size;
            if (o.NumFrames is int f) body["num_frames"] = f;
            if (o.Steps is int s) body["num_inference_steps"] = s;
            try
            {
                using var r = await clients[i % clients.Count].PostAsJsonAsync("/v1/videos", body, cts.Token);
                string text = await r.Content.ReadAsStringAsync(cts.Token);
                string? id = r.StatusCode == HttpStatusCode.OK ? JsonDocument.Parse(text).RootElement.GetProperty("id").GetString() : null;
                return (Status: (int)r.StatusCode, Id: id, Text: text);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return (Status: 0, Id: (string?)null, Text: e.Message); // no answer: lost
            }
        }).ToList();
        start.SetResult();
        var answers = await Task.WhenAll(sends);
        double submit = sw.Elapsed.TotalSeconds;

        var accepted = answers.Where(a => a.Status == 200).Select(a => a.Id!).ToList();
        int rejected = answers.Count(a => a.Status == 429), lost = answers.Count(a => a.Status == 0);
        foreach (var a in answers.Where(a => a.Status is not (200 or 429))) problems.Add($"HTTP {a.Status}: {a.Text}");

        var pending = new HashSet<string>(accepted);
        var final = new Dictionary<string, JsonElement>();
        while (pending.Count > 0 && !cts.IsCancellationRequested)
        {
            foreach (var id in pending.ToList())
            {
                JsonElement v;
                try { v = await http.GetFromJsonAsync<JsonElement>($"/v1/videos/{id}", cts.Token); }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { problems.Add($"poll {id}: {e.Message}"); continue; }
                if (v.GetProperty("status").GetString() is "completed" or "failed") { final[id] = v; pending.Remove(id); }
            }
            if (pending.Count > 0) await Task.Delay(200, CancellationToken.None);
        }
        double drain = sw.Elapsed.TotalSeconds;

        bool healthy = true;
        foreach (var c in clients)
        {
            try
            {
                using var h = await c.GetAsync("/health", CancellationToken.None);
                healthy &= h.IsSuccessStatusCode;
            }
            catch (HttpRequestException) { healthy = false; }
        }
        foreach (var c in clients.Skip(1)) c.Dispose();

        var jobSeconds = final.Values.Where(v => v.GetProperty("completed_at").ValueKind == JsonValueKind.Number)
            .Select(v => (double)(v.GetProperty("completed_at").GetInt64() - v.GetProperty("created_at").GetInt64())).OrderBy(x => x).ToList();
        foreach (var (id, v) in final.Where(kv => kv.Value.GetProperty("status").GetString() == "failed"))
            problems.Add($"{id} failed: {v.GetProperty("error")}");
        return new LoadResult(o.Requests, accepted.Count, rejected, answers.Count(a => a.Status is not (0 or 200 or 429)), lost,
            final.Values.Count(v => v.GetProperty("status").GetString() == "completed"),
            final.Values.Count(v => v.GetProperty("status").GetString() == "failed"), pending.Count, healthy, submit, drain, jobSeconds, problems);
    }

    /// <summary>The claim lines of each server's /metrics (servers on a shared store), for the benchmark's claim latency.</summary>
    public static async Task<IReadOnlyList<string>> ClaimMetricsAsync(LoadOptions o)
    {
        var lines = new List<string>();
        foreach (var server in new[] { o.Server }.Concat(o.Replicas))
        {
            using var http = new HttpClient { BaseAddress = server };
            if (o.ApiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", o.ApiKey);
            string text = await http.GetStringAsync("/metrics");
            lines.AddRange(text.Split('\n').Where(l => l.StartsWith("visualgen_job_cl", StringComparison.Ordinal) || l.StartsWith("visualgen_job_queued", StringComparison.Ordinal))
                .Select(l => $"{server.Authority} {l}"));
        }
        return lines;
    }

    public static string Markdown(LoadResult r) =>
        "| requests | 200 accepted | 429 rejected | other status | lost | completed | failed | unfinished | server up after | submit (s) | drain (s) | job time p50 / max (s) |\n" +
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | ---: | ---: | ---: |\n" +
        $"| {r.Requests} | {r.Accepted} | {r.Rejected429} | {r.OtherStatus} | {r.Lost} | {r.Completed} | {r.Failed} | {r.Unfinished} | {(r.HealthyAfter ? "yes" : "no")} | " +
        $"{r.SubmitSeconds:F2} | {r.DrainSeconds:F1} | {(r.JobSeconds.Count == 0 ? "-" : $"{r.JobSeconds[r.JobSeconds.Count / 2]:F0} / {r.JobSeconds[^1]:F0}")} |\n";
}
