using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using VisualGen.Demo;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Media;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Server;

/// <summary>
/// SIGTERM while a model's first generation exports and builds its engines (<see cref="EngineBuilds"/>): the build stops
/// at once rather than holding the shutdown for the grace period, leaves nothing in the engine cache, and its job goes
/// back to queued (its synchronous client is answered 503 <c>shutting_down</c>); the next start builds and runs it.
/// </summary>
public sealed class ShutdownBuildTests(ITestOutputHelper output)
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    [FfmpegFact]
    public async Task Sigterm_stops_an_engine_build_in_progress_leaves_no_cache_entry_and_puts_its_job_back_to_queued()
    {
        string model = DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("vg-demo"), "model"));
        string cache = Fixtures.TempDir("vg-engines");  // empty: the first generation exports and builds every engine
        var options = new ServerOptions
        {
            ModelDir = model, EngineCacheDir = cache, DataDir = Fixtures.TempDir("vg-server"),
            ShutdownGrace = TimeSpan.FromSeconds(300),  // a build that held the shutdown would hold it this long
        };
        var (server, export) = await StartHeldAsync(options);
        string id;
        try
        {
            var sync = server.PostJsonAsync("/v1/videos/generations",
                new { prompt = "the first generation builds the engines", size = "48x32", num_frames = 5, num_inference_steps = 2, seed = 7 });
            string[] building = await export.Reached.Task.WaitAsync(Wait);
            Assert.NotEmpty(building);  // the export's staging folder: a build is under way
            id = (await server.GetJsonAsync("/v1/videos")).Body.GetProperty("data")[0].GetProperty("id").GetString()!;
            Assert.Equal("in_progress", (await server.GetJsonAsync($"/v1/videos/{id}")).Body.GetProperty("status").GetString());

            var clock = Stopwatch.StartNew();
            await server.App.StopAsync().WaitAsync(Wait);  // what SIGTERM does
            output.WriteLine($"stopped {clock.Elapsed.TotalSeconds:F1} s after the shutdown began");
            Assert.True(export.StoppedByShutdown, "the shutdown did not cancel the engine provider's token");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the shutdown took {clock.Elapsed.TotalSeconds:F1} s: the build held it");

            var (status, body) = await sync.WaitAsync(Wait);
            Assert.Equal(503, status);
            LiveServer.AssertError(body, "shutting_down", type: "server_error");
            Assert.Contains(id, body.GetProperty("error").GetProperty("message").GetString());
            Assert.Equal("queued", StoredStatus(options.DataDir, id));

            AssertNothingBuilt(cache);

            // said in one line, not as a failure with a stack trace
            Assert.Contains(server.Logs.Lines, l => l.Contains("the engine build this generation needed was stopped by the server's shutdown")
                                                    && l.Contains("stored as queued again") && l.Contains(id));
            // (the 503 the synchronous client gets is logged by ErrorMiddleware, as every 5xx answer is)
            Assert.DoesNotContain(server.Logs.Lines, l => (l.StartsWith("Error") || l.StartsWith("Critical")) && !l.Contains("ErrorMiddleware"));
        }
        finally
        {
            export.Release();
            server.Http.Dispose();
            await server.App.DisposeAsync();
        }

        // the next start builds the engines and runs the job
        await using var second = await LiveServer.StartAsync((o, builds) => PipelineLoading.Load(o, NullLogger.Instance, builds), options);
        var rerun = await second.WaitForStatusAsync(id, Wait, "completed", "failed");
        Assert.Equal("completed", rerun.GetProperty("status").GetString());
        Assert.NotEmpty(Directory.GetFiles(cache, VisualGen.Engines.EngineCache.ManifestFileName, SearchOption.AllDirectories));
    }

    [ConformanceFact]
    public async Task An_image_request_whose_engine_build_the_shutdown_stopped_is_answered_503()
    {
        string cache = Fixtures.TempDir("vg-engines");
        var options = ImageModelServer.Flux.Options() with { EngineCacheDir = cache, ShutdownGrace = TimeSpan.FromSeconds(300) };
        var (server, export) = await StartHeldAsync(options);
        try
        {
            var image = server.PostJsonAsync("/v1/images/generations", new { prompt = "the first generation builds the engines", size = "64x64", num_inference_steps = 2 });
            await export.Reached.Task.WaitAsync(Wait);
            var clock = Stopwatch.StartNew();
            await server.App.StopAsync().WaitAsync(Wait);
            Assert.True(export.StoppedByShutdown, "the shutdown did not cancel the engine provider's token");
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the shutdown took {clock.Elapsed.TotalSeconds:F1} s: the build held it");
            var (status, body) = await image.WaitAsync(Wait);
            Assert.Equal(503, status);
            LiveServer.AssertError(body, "shutting_down", type: "server_error");
            Assert.Contains("engine build", body.GetProperty("error").GetProperty("message").GetString());
            AssertNothingBuilt(cache);
        }
        finally
        {
            export.Release();
            server.Http.Dispose();
            await server.App.DisposeAsync();
        }
    }

    /// <summary>The server over its own loader, whose engine progress goes to a <see cref="HeldExport"/>.</summary>
    static async Task<(LiveServer Server, HeldExport Export)> StartHeldAsync(ServerOptions options)
    {
        var export = new HeldExport(options.EngineCacheDir!);
        var server = await LiveServer.StartAsync((o, builds) =>
        {
            export.Builds = builds;
            return PipelineLoading.Load(o, export, builds);
        }, options);
        return (server, export);
    }

    /// <summary>Nothing of a build is left in the cache: no temporary or moved-aside folder, no entry (whole or half).</summary>
    static void AssertNothingBuilt(string cache)
    {
        var left = Directory.GetDirectories(cache).Select(Path.GetFileName).ToList();
        Assert.DoesNotContain(left, n => !n!.StartsWith('.') || n.StartsWith(".tmp-") || n.StartsWith(".trash-"));
        Assert.Empty(Directory.GetFiles(cache, VisualGen.Engines.EngineCache.ManifestFileName, SearchOption.AllDirectories));
    }

    static string StoredStatus(string dataDir, string id) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dataDir, "jobs", id + ".json"))).RootElement.GetProperty("status").GetString()!;

    /// <summary>The loader's log, which receives the engine provider's progress lines: at the first export ("exporting …",
    /// its staging folder made) it notes the cache's temporary folders and holds the export until the engine builds'
    /// token is cancelled (an export as long as the shutdown lets it be), or half a minute passes.</summary>
    sealed class HeldExport(string cache) : ILogger
    {
        readonly ManualResetEventSlim _released = new();

        public CancellationToken Builds { get; set; }
        public TaskCompletionSource<string[]> Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public bool StoppedByShutdown { get; private set; }

        public void Release() => _released.Set();

        public void Log<TState>(LogLevel level, EventId id, TState state, Exception? e, Func<TState, Exception?, string> format)
        {
            if (!format(state, e).StartsWith("engines: exporting ", StringComparison.Ordinal) || Reached.Task.IsCompleted) return;
            Reached.SetResult(Directory.GetDirectories(cache, ".tmp-*"));
            StoppedByShutdown = WaitHandle.WaitAny([Builds.WaitHandle, _released.WaitHandle], TimeSpan.FromSeconds(30)) == 0;
        }

        public bool IsEnabled(LogLevel level) => true;
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    }
}
