using VisualGen.Tests.Media;
using System.Diagnostics;
using System.Text.Json;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Server;

/// <summary>
/// The drain on SIGTERM: new work is refused with 503 while the running job finishes within --shutdown-grace (its
/// synchronous client gets the result), or is put back to queued on disk when the grace period runs out; then exit 0.
/// </summary>
public sealed class ShutdownTests(ITestOutputHelper output)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    static string StoredStatus(string dataDir, string id) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDir, "jobs", id + ".json"))).RootElement.GetProperty("status").GetString()!;

    [ConformanceFfmpegFact]
    public async Task Sigterm_lets_the_running_job_finish_answers_its_synchronous_client_and_exits_0()
    {
        var options = WanServer.Options(queueSize: 8);
        string running, queued;
        using (var first = await ServerProcess.StartAsync(options, "--shutdown-grace", "300s", "--max-steps", "1000"))
        {
            // the engines are built first: an engine build in progress is stopped by the shutdown, not waited for
            // (ShutdownBuildTests); the grace period is for generations on built engines
            var (warmed, warm) = await HttpJson.PostAsync(first.Http, "/v1/videos/generations",
                new { prompt = "builds the engines", size = "96x64", num_frames = 9, num_inference_steps = 2, seed = 1 });
            Assert.True(warmed == 200 && warm.GetProperty("status").GetString() == "completed", $"{warmed}: {warm}\n{first.Output}");
            // a synchronous client waits on the job that runs when SIGTERM comes (long enough on built engines to be seen
            // running: 400 steps of 9 frames could end between two polls)
            var sync = HttpJson.PostAsync(first.Http, "/v1/videos/generations",
                new { prompt = "running at SIGTERM", size = "96x64", num_frames = 17, num_inference_steps = 1000, seed = 3 });
            running = await NewestJobId(first.Http, warm.GetProperty("id").GetString()!);
            await HttpJson.WaitForStatusAsync(first.Http, running, Wait, "in_progress");
            queued = (await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = "queued at SIGTERM", size = "48x32", num_frames = 5, num_inference_steps = 2 }))
                .Body.GetProperty("id").GetString()!;
            var (_, before) = await HttpJson.GetAsync(first.Http, $"/v1/videos/{running}");
            Assert.Equal("in_progress", before.GetProperty("status").GetString()); // SIGTERM comes mid-job
            var clock = Stopwatch.StartNew();
            first.Terminate();

            var (status, done) = await sync.WaitAsync(Wait);
            output.WriteLine($"the synchronous client was answered {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
            Assert.True(status == 200, $"{status}: {done}\n{first.Output}");
            Assert.Equal(running, done.GetProperty("id").GetString());
            Assert.Equal("completed", done.GetProperty("status").GetString());
            Assert.Equal(0, await first.WaitForExitAsync(Wait));
            Assert.Contains("the running job finished", first.Output);
        }
        Assert.True(File.Exists(Path.Combine(options.DataDir, "videos", running + ".mp4")));
        Assert.Equal("completed", StoredStatus(options.DataDir, running));
        Assert.Equal("queued", StoredStatus(options.DataDir, queued));

        using var second = await ServerProcess.StartAsync(options);
        Assert.Equal("completed", (await HttpJson.GetAsync(second.Http, $"/v1/videos/{running}")).Body.GetProperty("status").GetString());
        Assert.Equal("completed", (await HttpJson.WaitForStatusAsync(second.Http, queued, Wait, "completed", "failed")).GetProperty("status").GetString());
        string file = Path.Combine(Fixtures.TempDir("vg-mp4"), "r.mp4");
        await File.WriteAllBytesAsync(file, await second.Http.GetByteArrayAsync($"/v1/videos/{running}/content"));
        Assert.Equal((17, 96, 64, "h264"), MediaProbe.Mp4(file));
    }

    [ConformanceFfmpegFact]
    public async Task Sigterm_past_the_grace_period_puts_the_running_job_back_to_queued_and_the_next_start_runs_it()
    {
        var options = WanServer.Options(queueSize: 8);
        string running, queued;
        using (var first = await ServerProcess.StartAsync(options, "--shutdown-grace", "0.3s", "--max-steps", "1000"))
        {
            running = (await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = "longer than the grace", size = "96x64", num_frames = 17, num_inference_steps = 1000, seed = 5 }))
                .Body.GetProperty("id").GetString()!;
            await HttpJson.WaitForStatusAsync(first.Http, running, Wait, "in_progress");
            queued = (await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = "queued at SIGTERM", size = "48x32", num_frames = 5, num_inference_steps = 2 }))
                .Body.GetProperty("id").GetString()!;
            var clock = Stopwatch.StartNew();
            first.Terminate();
            Assert.Equal(0, await first.WaitForExitAsync(TimeSpan.FromSeconds(60)));
            output.WriteLine($"exited {clock.Elapsed.TotalSeconds:F1} s after SIGTERM");
            Assert.Contains("stored as queued again", first.Output);
        }
        Assert.Equal("queued", StoredStatus(options.DataDir, running));
        Assert.Equal("queued", StoredStatus(options.DataDir, queued));
        Assert.Empty(Directory.GetFiles(Path.Combine(options.DataDir, "videos")));

        using var second = await ServerProcess.StartAsync(options);
        var (_, list) = await HttpJson.GetAsync(second.Http, "/v1/videos?order=asc");
        Assert.Equal([running, queued], list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());
        var rerunClock = Stopwatch.StartNew();
        var rerun = await HttpJson.WaitForStatusAsync(second.Http, running, TimeSpan.FromMinutes(5), "completed", "failed");
        output.WriteLine($"the rerun took {rerunClock.Elapsed.TotalSeconds:F1} s"); // the grace period must be well below this
        Assert.Equal("completed", rerun.GetProperty("status").GetString());
        Assert.Equal("completed", (await HttpJson.WaitForStatusAsync(second.Http, queued, Wait, "completed", "failed")).GetProperty("status").GetString());
        Assert.True(File.Exists(Path.Combine(options.DataDir, "videos", running + ".mp4")));
    }

    [FfmpegFact]
    public async Task Requests_during_the_drain_get_503_and_health_says_draining()
    {
        var gate = new PipelineGate(open: false);
        var options = new ServerOptions { DataDir = Fixtures.TempDir("vg-server"), ShutdownGrace = TimeSpan.FromSeconds(60) };
        var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate), options);
        try
        {
            string running = (await server.PostJsonAsync("/v1/videos", new { prompt = "running", num_inference_steps = 2 })).Body.GetProperty("id").GetString()!;
            await server.WaitForStatusAsync(running, Wait, "in_progress");
            string queued = (await server.PostJsonAsync("/v1/videos", new { prompt = "queued", num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            var waiting = server.PostJsonAsync("/v1/videos/generations", new { prompt = "sync, queued", num_inference_steps = 1 });
            while ((await server.GetJsonAsync("/v1/videos")).Body.GetProperty("data").GetArrayLength() < 3) await Task.Delay(20);
            // the listing can show the third job a moment before its record is on disk: wait for the three records
            string jobs = Path.Combine(options.DataDir, "jobs");
            var recorded = DateTime.UtcNow + Wait;
            while (Directory.GetFiles(jobs, "*.json").Length < 3 && DateTime.UtcNow < recorded) await Task.Delay(20);
            // and for both waiting jobs in the queue: a job recorded but not yet queued when the drain closes the queue is
            // deleted and refused (its client gets a 503), which is right, but not what this test stages
            while ((await server.GetJsonAsync("/health")).Body.GetProperty("queue_depth").GetInt32() < 2 && DateTime.UtcNow < recorded) await Task.Delay(20);

            var stop = server.App.StopAsync(); // what SIGTERM does
            var end = DateTime.UtcNow + Wait;
            while (true)
            {
                using var h = await server.Http.GetAsync("/health");
                var body = await LiveServer.ReadJson(h);
                if (body.GetProperty("status").GetString() == "draining") { Assert.Equal(503, (int)h.StatusCode); break; }
                Assert.True(DateTime.UtcNow < end, "/health never said draining");
                await Task.Delay(20);
            }
            foreach (var (path, body) in new (string, object)[]
            {
                ("/v1/videos", new { prompt = "too late" }),
                ("/v1/videos/generations", new { prompt = "too late" }),
                ("/v1/images/generations", new { prompt = "too late" }),
            })
            {
                using var r = await server.Http.PostAsync(path, LiveServer.JsonBody(body));
                Assert.Equal(503, (int)r.StatusCode);
                Assert.Equal("30", r.Headers.GetValues("Retry-After").Single());
                LiveServer.AssertError(await LiveServer.ReadJson(r), "shutting_down", type: "server_error");
            }
            Assert.Equal(3, Directory.GetFiles(Path.Combine(options.DataDir, "jobs"), "*.json").Length); // nothing of the refused requests is kept
            Assert.Equal("in_progress", (await server.GetJsonAsync($"/v1/videos/{running}")).Body.GetProperty("status").GetString());

            gate.Open(); // the running job finishes within the grace period; nothing else runs
            await stop.WaitAsync(Wait);
            var (ws, wb) = await waiting;
            Assert.Equal(503, ws);
            LiveServer.AssertError(wb, "shutting_down", type: "server_error");
            Assert.Equal("completed", StoredStatus(options.DataDir, running));
            Assert.Equal("queued", StoredStatus(options.DataDir, queued));
        }
        finally
        {
            gate.Open();
            server.Http.Dispose();
            await server.App.DisposeAsync();
        }
    }

    [Fact]
    public async Task Image_request_stopped_past_the_grace_period_is_answered_503()
    {
        var gate = new PipelineGate(open: false);
        var options = new ServerOptions { DataDir = Fixtures.TempDir("vg-server"), ShutdownGrace = TimeSpan.FromSeconds(0.2) };
        var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate), options);
        try
        {
            var image = server.PostJsonAsync("/v1/images/generations", new { prompt = "held", num_inference_steps = 1 });
            while (gate.Arrivals == 0) await Task.Delay(10);
            await server.App.StopAsync().WaitAsync(Wait);
            var (status, body) = await image.WaitAsync(Wait);
            Assert.Equal(503, status);
            LiveServer.AssertError(body, "shutting_down", type: "server_error");
        }
        finally
        {
            gate.Open();
            server.Http.Dispose();
            await server.App.DisposeAsync();
        }
    }

    /// <summary>The id of the newest video job once the server has stored one after <paramref name="before"/>.</summary>
    static async Task<string> NewestJobId(HttpClient http, string before)
    {
        var end = DateTime.UtcNow + Wait;
        while (true)
        {
            var (_, list) = await HttpJson.GetAsync(http, "/v1/videos?order=desc&limit=1");
            if (list.GetProperty("data")[0].GetProperty("id").GetString() is { } id && id != before) return id;
            Assert.True(DateTime.UtcNow < end, "no new job appeared");
            await Task.Delay(20);
        }
    }
}
