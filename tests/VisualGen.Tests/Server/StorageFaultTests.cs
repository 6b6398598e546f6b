using VisualGen.Tests.Media;
using System.Net;
using System.Text.Json;
using VisualGen.Server.Hosting;
using VisualGen.Server.Jobs;
using VisualGen.Server.Media;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// A data folder that takes no writes (simulated with a file where a folder is expected: tests run as root, so chmod
/// would not stop them): jobs fail with a clear error instead of hanging, memory and disk agree, clients get 507/503,
/// /health reports it, and the server recovers when the folder is back.
/// </summary>
public sealed class StorageFaultTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    static ServerOptions Options() => new() { DataDir = Fixtures.TempDir("vg-server") };

    /// <summary>Moves data/{folder} aside and puts a file in its place; disposing puts the folder back.</summary>
    sealed class BrokenFolder : IDisposable
    {
        readonly string _path, _aside;

        public BrokenFolder(string dataDir, string folder)
        {
            _path = Path.Combine(dataDir, folder);
            _aside = _path + ".aside";
            Directory.Move(_path, _aside);
            File.WriteAllText(_path, "not a folder");
        }

        public void Dispose()
        {
            File.Delete(_path);
            Directory.Move(_aside, _path);
        }
    }

    /// <summary>The library's encoder, calling <paramref name="beforePng"/> with the PNG's number (1, 2, ...) before it encodes one,
    /// so a test breaks a folder between the images of one request.</summary>
    sealed class PngHook(Action<int> beforePng) : IMediaEncoder
    {
        readonly LibraryMediaEncoder _inner = new();
        int _pngs;

        public Task WriteMp4Async(HostTensor frames, int fps, string path, CancellationToken ct, VisualGen.Media.Soundtrack? soundtrack = null) =>
            _inner.WriteMp4Async(frames, fps, path, ct, soundtrack);

        public string? Mp4Unavailable => _inner.Mp4Unavailable;

        public byte[] EncodePng(HostTensor image)
        {
            beforePng(Interlocked.Increment(ref _pngs));
            return _inner.EncodePng(image);
        }

        public HostTensor DecodeImage(ReadOnlySpan<byte> data, string source) => _inner.DecodeImage(data, source);
    }

    static async Task AssertHealth(LiveServer server, bool ok, string? mentions = null)
    {
        using var r = await server.Http.GetAsync("/health");
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(ok ? HttpStatusCode.OK : HttpStatusCode.ServiceUnavailable, r.StatusCode);
        Assert.Equal(ok ? "ok" : "degraded", body.GetProperty("status").GetString());
        string storage = body.GetProperty("storage").GetString()!;
        if (ok) Assert.Equal("ok", storage);
        else
        {
            Assert.Contains(mentions!, storage);
            Assert.DoesNotContain(server.Options.DataDir, storage); // /health needs no key: no server paths
        }
    }

    [FfmpegFact]
    public async Task Submitting_into_an_unwritable_jobs_folder_is_507_and_health_reports_it()
    {
        var pipeline = new GradientPipeline();
        await using var server = await LiveServer.StartAsync(pipeline, Options());
        await AssertHealth(server, ok: true);
        using (new BrokenFolder(server.Options.DataDir, "jobs"))
        {
            await AssertHealth(server, ok: false, mentions: "'jobs'");
            using var r = await server.Http.PostAsync("/v1/videos", LiveServer.JsonBody(new { prompt = "p", num_frames = 1, num_inference_steps = 1 }));
            var body = await LiveServer.ReadJson(r);
            Assert.Equal(HttpStatusCode.InsufficientStorage, r.StatusCode);
            LiveServer.AssertError(body, "insufficient_storage", type: "server_error");
            Assert.DoesNotContain(server.Options.DataDir, body.GetProperty("error").GetProperty("message").GetString());
            Assert.NotNull(r.Headers.RetryAfter);
            var (_, list) = await server.GetJsonAsync("/v1/videos");
            Assert.Empty(list.GetProperty("data").EnumerateArray()); // nothing kept in memory either
        }
        using (new BrokenFolder(server.Options.DataDir, "images"))
        {
            var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", response_format = "url", num_inference_steps = 1 });
            Assert.Equal(507, status);
            LiveServer.AssertError(body, "insufficient_storage", type: "server_error");
        }
        // the folders are back: the last failure is reported for a while, then a successful write clears it
        var id = (await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        await AssertHealth(server, ok: true);
    }

    [Fact]
    public async Task Url_images_of_one_request_are_stored_all_or_none()
    {
        // n = 2: the images folder stops taking writes after the first image was made, before the second
        var options = Options();
        BrokenFolder? broken = null;
        var encoder = new PngHook(png => { if (png == 2) broken = new BrokenFolder(options.DataDir, "images"); });
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false), options, encoder);
        var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", n = 2, response_format = "url", num_inference_steps = 1 });
        broken!.Dispose();
        Assert.Equal(507, status);
        LiveServer.AssertError(body, "insufficient_storage", type: "server_error");
        // the 507 says nothing was stored: the first image is not left behind, unlisted and unanswered
        Assert.Empty(Directory.GetFiles(Path.Combine(options.DataDir, "images"), "*.png"));
    }

    [Fact]
    public async Task Images_stored_before_a_failing_one_are_deleted_with_it()
    {
        string dir = Fixtures.TempDir("vg-server");
        var files = new ImageFiles(dir);
        string first = JobId.New(JobId.ImagePrefix), second = JobId.New(JobId.ImagePrefix);
        Directory.CreateDirectory(files.PathOf(second)); // both are written, the first is renamed into place, the second cannot be
        var e = await Assert.ThrowsAsync<StorageException>(() => files.SaveAllAsync([(first, [1]), (second, [2])], CancellationToken.None));
        Assert.Contains($"could not write the image {second}", e.Message);
        Assert.Empty(Directory.GetFiles(Path.Combine(dir, "images"))); // neither the first image nor the second's temporary file
        Assert.Empty(files.List());
    }

    [FfmpegFact]
    public async Task Jobs_fail_with_storage_failed_instead_of_hanging_when_records_cannot_be_written()
    {
        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate), Options());
        string running = (await server.PostJsonAsync("/v1/videos", new { prompt = "running", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(running, Wait, "in_progress");
        string queued = (await server.PostJsonAsync("/v1/videos", new { prompt = "queued", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        using (new BrokenFolder(server.Options.DataDir, "jobs"))
        {
            gate.Open();
            foreach (var id in new[] { running, queued })
            {
                var failed = await server.WaitForStatusAsync(id, Wait, "failed", "completed");
                Assert.Equal("failed", failed.GetProperty("status").GetString());
                var error = failed.GetProperty("error");
                Assert.Equal("storage_failed", error.GetProperty("code").GetString());
                string message = error.GetProperty("message").GetString()!;
                Assert.Contains("could not write", message);
                Assert.DoesNotContain(server.Options.DataDir, message);
            }
            // the running job's video was written but its completion could not be saved: no half state is left
            Assert.False(File.Exists(Path.Combine(server.Options.DataDir, "videos", running + ".mp4")));
            await AssertHealth(server, ok: false, mentions: "'jobs'");
            using var r = await server.Http.GetAsync($"/metrics");
            Assert.Contains("visualgen_video_jobs{status=\"failed\"} 2", (await r.Content.ReadAsStringAsync()).Split('\n'));
        }
        // with the folder back the server works again
        string after = (await server.PostJsonAsync("/v1/videos", new { prompt = "after", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(after, Wait, "completed");
    }

    [FfmpegFact]
    public async Task Files_left_by_a_failed_delete_are_removed_at_the_next_start()
    {
        var options = Options();
        string id;
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(), options))
        {
            id = (await first.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(id, Wait, "completed");
        }
        File.Delete(Path.Combine(options.DataDir, "jobs", id + ".json")); // the record went, the video could not
        await using var second = await LiveServer.StartAsync(new GradientPipeline(), options);
        Assert.Empty(Directory.GetFiles(Path.Combine(options.DataDir, "videos")));
    }

    [FfmpegFact]
    public async Task A_video_that_cannot_be_written_fails_the_job_with_storage_failed()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options());
        using (new BrokenFolder(server.Options.DataDir, "videos"))
        {
            string id = (await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            var failed = await server.WaitForStatusAsync(id, Wait, "failed", "completed");
            Assert.Equal("failed", failed.GetProperty("status").GetString());
            Assert.Equal("storage_failed", failed.GetProperty("error").GetProperty("code").GetString());
            string message = failed.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Contains("'videos'", message);
            Assert.DoesNotContain(server.Options.DataDir, message);
            await AssertHealth(server, ok: false, mentions: "'videos'");
        }
        await AssertHealth(server, ok: true);
    }

    [FfmpegFact]
    public async Task Delete_that_cannot_remove_the_record_is_503_and_keeps_the_job()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options());
        string id = (await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        using (new BrokenFolder(server.Options.DataDir, "jobs"))
        {
            using var del = await server.Http.DeleteAsync($"/v1/videos/{id}");
            var body = await LiveServer.ReadJson(del);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, del.StatusCode);
            LiveServer.AssertError(body, "storage_unavailable", type: "server_error");
            Assert.NotNull(del.Headers.RetryAfter);
            // memory and disk agree: the job is still there, and so is its video
            var (status, v) = await server.GetJsonAsync($"/v1/videos/{id}");
            Assert.Equal(200, status);
            Assert.Equal("completed", v.GetProperty("status").GetString());
            Assert.True(File.Exists(Path.Combine(server.Options.DataDir, "videos", id + ".mp4")));
        }
        using (var again = await server.Http.DeleteAsync($"/v1/videos/{id}")) Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(404, (await server.GetJsonAsync($"/v1/videos/{id}")).Status);
        Assert.False(File.Exists(Path.Combine(server.Options.DataDir, "jobs", id + ".json")));
        Assert.False(File.Exists(Path.Combine(server.Options.DataDir, "videos", id + ".mp4")));
    }
}
