using VisualGen.Tests.Media;
using System.Net;
using System.Text.Json;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>Retention: expires_at, expired jobs and images deleted on a timer and at startup, the size bound, image deletion.</summary>
public sealed class RetentionTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    static string[] Files(string dataDir, string folder) =>
        Directory.GetFiles(Path.Combine(dataDir, folder)).Select(Path.GetFileName).ToArray()!;

    static async Task<string> VideoJob(LiveServer server, string prompt)
    {
        string id = (await server.PostJsonAsync("/v1/videos", new { prompt, num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        return id;
    }

    static async Task<string> ImageJob(LiveServer server, string dataDir)
    {
        using var form = ImageToVideoJobTests.Form(ImageToVideoJobTests.SmoothImage().Png, fields: [("prompt", "from an image"), ("num_frames", "1"), ("num_inference_steps", "1")]);
        using var r = await server.Http.PostAsync("/v1/videos", form);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        string id = (await LiveServer.ReadJson(r)).GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        Assert.True(File.Exists(Path.Combine(dataDir, "inputs", id + ".png")));
        return id;
    }

    static async Task<string> UrlImage(LiveServer server)
    {
        var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", response_format = "url", num_inference_steps = 1 });
        Assert.Equal(200, status);
        return new Uri(body.GetProperty("data")[0].GetProperty("url").GetString()!).AbsolutePath;
    }

    [FfmpegFact]
    public async Task Expires_at_is_completion_plus_max_age_and_expired_media_is_deleted_on_the_timer()
    {
        var options = new ServerOptions
        {
            DataDir = Fixtures.TempDir("vg-server"), RetentionMaxAge = TimeSpan.FromSeconds(2), RetentionSweepInterval = TimeSpan.FromMilliseconds(200),
        };
        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate, acceptsImage: true), options);

        var (_, queued) = await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 });
        Assert.Equal(JsonValueKind.Null, queued.GetProperty("expires_at").ValueKind); // unfinished jobs do not expire
        gate.Open();
        string id = queued.GetProperty("id").GetString()!;
        var done = await server.WaitForStatusAsync(id, Wait, "completed");
        Assert.Equal(done.GetProperty("completed_at").GetInt64() + 2, done.GetProperty("expires_at").GetInt64());
        string withInput = await ImageJob(server, options.DataDir);
        string image = await UrlImage(server);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync(image)).StatusCode);
        var (_, listed) = await server.GetJsonAsync("/v1/videos");
        Assert.All(listed.GetProperty("data").EnumerateArray(), v => Assert.Equal(JsonValueKind.Number, v.GetProperty("expires_at").ValueKind));

        // past expires_at the sweeper deletes the jobs, their MP4s, the input image and the URL image
        var end = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        // (the status only: a body read while the sweeper deletes the file can be cut off, "Error while copying content")
        async Task<HttpStatusCode> ImageStatus()
        {
            using var r = await server.Http.GetAsync(image, HttpCompletionOption.ResponseHeadersRead);
            return r.StatusCode;
        }
        while ((await server.GetJsonAsync($"/v1/videos/{withInput}")).Status != 404 || await ImageStatus() != HttpStatusCode.NotFound)
        {
            Assert.True(DateTime.UtcNow < end, "expired media still served after 20 s");
            await Task.Delay(100);
        }
        Assert.Equal(404, (await server.GetJsonAsync($"/v1/videos/{id}")).Status);
        foreach (var folder in new[] { "jobs", "videos", "inputs", "images" })
            Assert.Empty(Files(options.DataDir, folder));
        Assert.Contains(server.Logs.Lines, l => l.Contains("retention: deleted"));
    }

    [FfmpegFact]
    public async Task Media_that_expired_while_the_server_was_down_is_deleted_at_startup()
    {
        string dataDir = Fixtures.TempDir("vg-server");
        string job, image;
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(), new ServerOptions { DataDir = dataDir }))
        {
            job = await VideoJob(first, "kept by the first server");
            image = await UrlImage(first);
            Assert.Equal(JsonValueKind.Null, (await first.GetJsonAsync($"/v1/videos/{job}")).Body.GetProperty("expires_at").ValueKind); // no max age: kept
        }
        await Task.Delay(TimeSpan.FromSeconds(2.2));
        var options = new ServerOptions { DataDir = dataDir, RetentionMaxAge = TimeSpan.FromSeconds(1), RetentionSweepInterval = TimeSpan.FromHours(1) };
        await using var second = await LiveServer.StartAsync(new GradientPipeline(), options);
        // the timer would not fire for an hour: this is the startup sweep
        Assert.Equal(404, (await second.GetJsonAsync($"/v1/videos/{job}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await second.Http.GetAsync(image)).StatusCode);
        foreach (var folder in new[] { "jobs", "videos", "images" })
            Assert.Empty(Files(dataDir, folder));
    }

    [FfmpegFact]
    public async Task Size_bound_deletes_the_oldest_finished_jobs_first()
    {
        string dataDir = Fixtures.TempDir("vg-server");
        var ids = new List<string>();
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(), new ServerOptions { DataDir = dataDir }))
            for (int i = 0; i < 3; i++) ids.Add(await VideoJob(first, $"job {i}"));
        long Bytes(string id) => new FileInfo(Path.Combine(dataDir, "jobs", id + ".json")).Length + new FileInfo(Path.Combine(dataDir, "videos", id + ".mp4")).Length;

        // room for the two newest: the oldest goes at startup, whatever its age
        var options = new ServerOptions { DataDir = dataDir, RetentionMaxBytes = Bytes(ids[1]) + Bytes(ids[2]), RetentionSweepInterval = TimeSpan.FromHours(1) };
        await using var second = await LiveServer.StartAsync(new GradientPipeline(), options);
        Assert.Equal(404, (await second.GetJsonAsync($"/v1/videos/{ids[0]}")).Status);
        Assert.False(File.Exists(Path.Combine(dataDir, "videos", ids[0] + ".mp4")));
        foreach (var kept in ids.Skip(1))
        {
            var (status, v) = await second.GetJsonAsync($"/v1/videos/{kept}");
            Assert.Equal(200, status);
            Assert.Equal(JsonValueKind.Null, v.GetProperty("expires_at").ValueKind); // a size bound alone sets no date
        }
    }

    [Fact]
    public async Task Url_images_can_be_deleted()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false));
        string path = await UrlImage(server);
        string id = path.Split('/')[3];
        using (var del = await server.Http.DeleteAsync($"/v1/images/{id}"))
        {
            Assert.Equal(HttpStatusCode.OK, del.StatusCode);
            var body = await LiveServer.ReadJson(del);
            Assert.Equal((id, "image.deleted", true), (body.GetProperty("id").GetString(), body.GetProperty("object").GetString(), body.GetProperty("deleted").GetBoolean()));
        }
        Assert.Equal(HttpStatusCode.NotFound, (await server.Http.GetAsync(path)).StatusCode);
        Assert.Empty(Files(server.Options.DataDir, "images"));
        foreach (var bad in new[] { id, "img_nope", "video_0123456789abcdef0123456789abcdef" })
        {
            using var again = await server.Http.DeleteAsync($"/v1/images/{bad}");
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            LiveServer.AssertError(await LiveServer.ReadJson(again), "not_found");
        }
    }

    [Fact]
    public void Retention_flags_parse_durations_and_byte_counts()
    {
        var o = ServerOptions.Parse(["--retention-max-age", "7d", "--retention-max-bytes", "50G", "--retention-sweep", "30s"], _ => null);
        Assert.Equal((TimeSpan.FromDays(7), 50L << 30, TimeSpan.FromSeconds(30)), (o.RetentionMaxAge, o.RetentionMaxBytes, o.RetentionSweepInterval));
        Assert.Equal(TimeSpan.FromMinutes(90), ServerOptions.Parse(["--retention-max-age", "1.5h"], _ => null).RetentionMaxAge);
        Assert.Equal(1000, ServerOptions.Parse(["--retention-max-bytes", "1000"], _ => null).RetentionMaxBytes);
        var defaults = ServerOptions.Parse([], _ => null);
        Assert.Equal((null, null), (defaults.RetentionMaxAge, defaults.RetentionMaxBytes));
        foreach (var (flag, bad) in new[] { ("--retention-max-age", "7"), ("--retention-max-age", "0d"), ("--retention-max-age", "-1h"), ("--retention-max-age", "xh"),
                     ("--retention-max-bytes", "0"), ("--retention-max-bytes", "12Q"), ("--retention-max-bytes", "-5"), ("--retention-sweep", "") })
            Assert.Contains(flag, Assert.Throws<ArgumentException>(() => ServerOptions.Parse([flag, bad], _ => null)).Message);
    }
}
