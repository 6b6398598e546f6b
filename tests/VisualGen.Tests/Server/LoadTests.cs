using VisualGen.Tests.Media;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;
using VisualGen.Tools.ServerLoad;

namespace VisualGen.Tests.Server;

/// <summary>tools/bench's load run against the real server: 50 concurrent requests, a queue of 8.</summary>
public sealed class LoadTests(Xunit.Abstractions.ITestOutputHelper output)
{
    [FfmpegFact]
    public async Task Fifty_concurrent_requests_against_a_queue_of_eight_lose_nothing()
    {
        var gate = new PipelineGate(open: false); // hold the first job so the burst meets a busy worker and a full queue
        var pipeline = new GradientPipeline(gate: gate);
        await using var server = await LiveServer.StartAsync(pipeline, new ServerOptions { DataDir = Fixtures.TempDir("vg-server"), QueueSize = 8 });
        var run = LoadRun.RunAsync(new LoadOptions { Server = server.BaseAddress, Requests = 50, NumFrames = 5, Steps = 1, Timeout = TimeSpan.FromMinutes(2) });
        // open the gate only once every request has been answered (the server's own request counter says so)
        while (Answered(await server.Http.GetStringAsync("/metrics")) < 50)
        {
            Assert.False(run.IsCompleted, "the load run finished before every request was answered");
            await Task.Delay(20);
        }
        gate.Open();
        var r = await run;
        output.WriteLine(LoadRun.Markdown(r));
        Assert.True(r.Passed, LoadRun.Markdown(r) + string.Join("\n", r.Problems));
        // eight waiting, plus the one the worker took if it took one before the burst filled the queue
        // (it holds at the gate, so it cannot take a second)
        Assert.InRange(r.Accepted, 8, 9);
        Assert.Equal(50 - r.Accepted, r.Rejected429);
        Assert.Equal(r.Accepted, pipeline.Generations);
    }

    static long Answered(string metrics) => metrics.Split('\n')
        .Where(l => l.StartsWith("visualgen_http_requests_total{method=\"POST\",route=\"/v1/videos\",", StringComparison.Ordinal))
        .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..]));
}
