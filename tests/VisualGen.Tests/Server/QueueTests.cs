using VisualGen.Tests.Media;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>The bounded queue, the restart behaviour, metrics and request-id logging.</summary>
public sealed class QueueTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    static ServerOptions Options(int queue) => new() { DataDir = Fixtures.TempDir("vg-server"), QueueSize = queue };

    [FfmpegFact]
    public async Task Full_queue_answers_429_and_keeps_nothing()
    {
        var gate = new PipelineGate(open: false);
        var pipeline = new GradientPipeline(gate: gate);
        await using var server = await LiveServer.StartAsync(pipeline, Options(2));
        var accepted = new List<string>();
        accepted.Add((await server.PostJsonAsync("/v1/videos", new { prompt = "running", num_inference_steps = 1 })).Body.GetProperty("id").GetString()!);
        await server.WaitForStatusAsync(accepted[0], Wait, "in_progress");
        for (int i = 0; i < 2; i++)
        {
            var (s, v) = await server.PostJsonAsync("/v1/videos", new { prompt = $"waiting {i}", num_inference_steps = 1 });
            Assert.Equal(200, s);
            accepted.Add(v.GetProperty("id").GetString()!);
        }
        var (status, body) = await server.PostJsonAsync("/v1/videos", new { prompt = "one too many" });
        Assert.Equal(429, status);
        LiveServer.AssertError(body, "queue_full", type: "rate_limit_error");
        var (imgStatus, imgBody) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "image too" });
        Assert.Equal(429, imgStatus);
        LiveServer.AssertError(imgBody, "queue_full", type: "rate_limit_error");
        Assert.Equal(3, Directory.GetFiles(Path.Combine(server.Options.DataDir, "jobs"), "*.json").Length);

        gate.Open();
        foreach (var id in accepted) await server.WaitForStatusAsync(id, Wait, "completed");
        Assert.Equal(3, pipeline.Generations);
        // with the queue drained, new work is accepted again
        Assert.Equal(200, (await server.PostJsonAsync("/v1/videos", new { prompt = "again", num_inference_steps = 1 })).Status);
    }

    [Fact]
    public async Task An_image_request_whose_client_disconnects_while_it_waits_frees_its_queue_slot()
    {
        // it used to hold its slot until the worker reached it: behind a long generation, clients that gave up (and
        // retried) filled the queue and everyone was answered 429 while nothing was waiting
        var gate = new PipelineGate(open: false);
        var pipeline = new GradientPipeline(gate: gate);
        await using var server = await LiveServer.StartAsync(pipeline, Options(1));
        var running = server.PostJsonAsync("/v1/images/generations", new { prompt = "running", num_inference_steps = 1 });
        await WaitForHealthAsync(server, h => h.GetProperty("busy").GetBoolean());

        using var gone = new CancellationTokenSource();
        var waiting = server.Http.PostAsync("/v1/images/generations",
            LiveServer.JsonBody(new { prompt = "client goes away", num_inference_steps = 1 }), gone.Token);
        await WaitForHealthAsync(server, h => h.GetProperty("queue_depth").GetInt32() == 1);
        gone.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
        var health = await WaitForHealthAsync(server, h => h.GetProperty("queue_depth").GetInt32() == 0);
        Assert.Equal(0, health.GetProperty("queue_depth").GetInt32());

        var next = server.PostJsonAsync("/v1/images/generations", new { prompt = "next", num_inference_steps = 1 });
        await WaitForHealthAsync(server, h => h.GetProperty("queue_depth").GetInt32() == 1);
        gate.Open();
        Assert.Equal(200, (await running).Status);
        var (status, body) = await next;
        Assert.Equal(200, status);
        Assert.Equal(1, body.GetProperty("data").GetArrayLength());
        Assert.Equal(2, pipeline.Generations); // the abandoned request never ran
        // counted as closed by its client (nginx's 499), not as one of the two answered 200
        var lines = (await server.Http.GetStringAsync("/metrics")).Split('\n');
        Assert.Contains("visualgen_http_requests_total{method=\"POST\",route=\"/v1/images/generations\",status=\"499\"} 1", lines);
        Assert.Contains("visualgen_http_requests_total{method=\"POST\",route=\"/v1/images/generations\",status=\"200\"} 2", lines);
    }

    /// <summary>Polls /health until <paramref name="done"/> holds (or 10 s pass) and answers the last body.</summary>
    static async Task<System.Text.Json.JsonElement> WaitForHealthAsync(LiveServer server, Func<System.Text.Json.JsonElement, bool> done)
    {
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var (_, h) = await server.GetJsonAsync("/health");
            if (done(h) || DateTime.UtcNow > until) return h;
            await Task.Delay(20);
        }
    }

    [FfmpegFact]
    public async Task Restart_keeps_finished_and_queued_jobs_and_requeues_the_one_stopped_past_the_grace_period()
    {
        var options = Options(8) with { ShutdownGrace = TimeSpan.FromSeconds(0.2) };
        string done, running;
        var queued = new List<string>();
        var gate = new PipelineGate();
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(gate: gate), options))
        {
            done = (await first.PostJsonAsync("/v1/videos", new { prompt = "finished before", num_frames = 5, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(done, Wait, "completed");
            gate.Close();
            running = (await first.PostJsonAsync("/v1/videos", new { prompt = "running at stop", num_inference_steps = 2 })).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(running, Wait, "in_progress");
            for (int i = 0; i < 3; i++)
                queued.Add((await first.PostJsonAsync("/v1/videos", new { prompt = $"queued {i}", num_frames = 5, num_inference_steps = 1, seed = i })).Body.GetProperty("id").GetString()!);
        } // stopped mid-queue: the running job outlasts the grace period, is cancelled and stored as queued again

        var mp4Before = await File.ReadAllBytesAsync(Path.Combine(options.DataDir, "videos", done + ".mp4"));
        var secondGate = new PipelineGate(open: false);
        var second = new GradientPipeline(gate: secondGate); // holds the re-queued jobs so their state is seen
        await using var restarted = await LiveServer.StartAsync(second, options);

        var (_, d) = await restarted.GetJsonAsync($"/v1/videos/{done}");
        Assert.Equal("completed", d.GetProperty("status").GetString());
        Assert.Equal(mp4Before, await restarted.Http.GetByteArrayAsync($"/v1/videos/{done}/content"));

        // the stopped job and the queued ones are back in submission order: the stopped one runs again first (held at the gate), the others wait
        var r = await restarted.WaitForStatusAsync(running, Wait, "in_progress");
        Assert.False(r.TryGetProperty("error", out var err) && err.ValueKind != System.Text.Json.JsonValueKind.Null);
        foreach (var id in queued) Assert.Equal("queued", (await restarted.GetJsonAsync($"/v1/videos/{id}")).Body.GetProperty("status").GetString());
        var (_, health) = await restarted.GetJsonAsync("/health");
        Assert.Equal(3, health.GetProperty("queue_depth").GetInt32());
        // the list shows all five in submission order
        var (_, list) = await restarted.GetJsonAsync("/v1/videos?order=asc");
        Assert.Equal([done, running, .. queued], list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());

        secondGate.Open();
        foreach (var id in queued.Prepend(running)) await restarted.WaitForStatusAsync(id, Wait, "completed");
    }

    [FfmpegFact]
    public async Task Metrics_count_requests_per_route_with_latency_and_queue_gauges()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options(4));
        var id = (await server.PostJsonAsync("/v1/videos", new { prompt = "m", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        await server.GetJsonAsync("/v1/videos/video_0123456789abcdef0123456789abcdef");
        using var r = await server.Http.GetAsync("/metrics");
        Assert.Equal("text/plain", r.Content.Headers.ContentType?.MediaType);
        string text = await r.Content.ReadAsStringAsync();
        var lines = text.Split('\n');
        Assert.Contains("visualgen_http_requests_total{method=\"POST\",route=\"/v1/videos\",status=\"200\"} 1", lines);
        Assert.Contains("visualgen_http_requests_total{method=\"GET\",route=\"/v1/videos/{id}\",status=\"404\"} 1", lines);
        long polls = long.Parse(lines.Single(l => l.StartsWith("visualgen_http_requests_total{method=\"GET\",route=\"/v1/videos/{id}\",status=\"200\"}")).Split(' ')[1]);
        Assert.True(polls >= 1);
        // the histogram's +Inf bucket and count equal all requests on that route
        Assert.Contains($"visualgen_http_request_duration_seconds_count{{method=\"GET\",route=\"/v1/videos/{{id}}\"}} {polls + 1}", lines);
        Assert.Contains($"visualgen_http_request_duration_seconds_bucket{{method=\"GET\",route=\"/v1/videos/{{id}}\",le=\"+Inf\"}} {polls + 1}", lines);
        Assert.Contains("visualgen_queue_depth 0", lines);
        Assert.Contains("visualgen_queue_capacity 4", lines);
        Assert.Contains("visualgen_video_jobs{status=\"completed\"} 1", lines);
        Assert.Contains("visualgen_video_jobs{status=\"queued\"} 0", lines);
        Assert.Contains("# TYPE visualgen_http_request_duration_seconds histogram", lines);
    }

    [Fact]
    public async Task Metrics_record_methods_clients_make_up_as_OTHER_so_labels_stay_bounded()
    {
        // any token is a valid HTTP method: one label value per made-up method would let a client (no key needed: the
        // metrics are recorded before the key check) grow the server's memory and /metrics without bound
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options(4) with { ApiKeys = ["k"] });
        var statuses = new HashSet<int>();
        for (int i = 0; i < 3; i++)
        {
            using var r = await server.Http.SendAsync(new HttpRequestMessage(new HttpMethod($"MADEUP{i}"), "/v1/models"));
            statuses.Add((int)r.StatusCode);
        }
        int status = Assert.Single(statuses);
        using var get = await server.Http.GetAsync("/health");
        using var req = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { { "Authorization", "Bearer k" } } };
        using var m = await server.Http.SendAsync(req);
        string text = await m.Content.ReadAsStringAsync();
        Assert.DoesNotContain("MADEUP", text);
        var lines = text.Split('\n');
        Assert.Single(lines, l => l.StartsWith("visualgen_http_requests_total{method=\"OTHER\",") && l.EndsWith($",status=\"{status}\"}} 3"));
        Assert.Contains("visualgen_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1", lines);
    }

    [Fact]
    public async Task Request_ids_are_answered_and_logged()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options(4));
        using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { { "X-Request-Id", "client-id-42" } } };
        using var r = await server.Http.SendAsync(req);
        Assert.Equal("client-id-42", r.Headers.GetValues("x-request-id").Single());
        using var r2 = await server.Http.GetAsync("/v1/videos/nope");
        string generated = r2.Headers.GetValues("x-request-id").Single();
        Assert.Matches("^req_[0-9a-f]{32}$", generated);
        Assert.Contains(server.Logs.Lines, l => l.Contains("GET /v1/models -> 200") && l.Contains("[RequestId=client-id-42]"));
        Assert.Contains(server.Logs.Lines, l => l.Contains("GET /v1/videos/nope -> 404") && l.Contains($"[RequestId={generated}]"));
    }
}
