using VisualGen.Tests.Media;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>The Videos API over HTTP against a deterministic gradient pipeline: lifecycle, content, delete, list.</summary>
public sealed class VideoJobTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_server_that_cannot_write_mp4_refuses_video_requests_up_front_and_says_why()
    {
        // an encoder that looks for ffmpeg in an empty folder: no MP4 can be written
        var encoder = new VisualGen.Server.Media.LibraryMediaEncoder(new VisualGen.Media.Mp4Writer(searchPath: Fixtures.TempDir("no-ffmpeg")));
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), encoder: encoder);
        Assert.Contains(server.Logs.Lines, l => l.Contains("video requests are refused") && l.Contains("ffmpeg was not found"));

        var body = new { model = "gradient-video", prompt = "a gradient", size = "48x32", seconds = "0.5", num_inference_steps = 3 };
        foreach (var route in new[] { "/v1/videos", "/v1/videos/generations" })
        {
            var (status, refused) = await server.PostJsonAsync(route, body);
            Assert.Equal(503, status);
            LiveServer.AssertError(refused, "mp4_unavailable", type: "server_error");
            Assert.Contains("ffmpeg", refused.GetProperty("error").GetProperty("message").GetString());
        }
        var (_, listed) = await server.GetJsonAsync("/v1/videos");
        Assert.Equal(0, listed.GetProperty("data").GetArrayLength()); // no job was made
        var (healthStatus, health) = await server.GetJsonAsync("/health");
        Assert.Equal(200, healthStatus); // images still run
        Assert.StartsWith("unavailable: ffmpeg was not found", health.GetProperty("video").GetString());
    }

    [FfmpegFact]
    public async Task A_models_own_frame_rate_is_the_clients_fps_and_the_extension_fields_reach_the_model()
    {
        // Cosmos3 and LTX-2 condition on the frame rate (LTX-2's soundtrack lasts num_frames / frame_rate): the MP4 is
        // written at the client's fps, so the model must be given it too; a model without one (Wan) gets none
        foreach (bool takesFps in new[] { true, false })
        {
            var pipeline = new GradientPipeline(takesFps: takesFps);
            await using var server = await LiveServer.StartAsync(pipeline);
            foreach (int? fps in new int?[] { 8, null })
            {
                var (status, created) = await server.PostJsonAsync("/v1/videos",
                    new { model = "gradient-video", prompt = "a gradient", size = "48x32", num_frames = 9, fps, num_inference_steps = 1, seed = 7, guidance_scale_2 = 2.5, shift = 5.0, max_sequence_length = 64 });
                Assert.True(status == 200, created.ToString());
                var done = await server.WaitForStatusAsync(created.GetProperty("id").GetString()!, Wait, "completed", "failed");
                Assert.Equal("completed", done.GetProperty("status").GetString());
                Assert.Equal(fps ?? 16, done.GetProperty("fps").GetInt32());
                Assert.Equal(takesFps ? fps : null, pipeline.LastRequest!.Fps);
                Assert.Equal(2.5, pipeline.LastRequest.GuidanceScale2);   // Wan 2.2 A14B's; other models refuse it
                Assert.Equal((5.0, 64), (pipeline.LastRequest.Shift, pipeline.LastRequest.MaxSequenceLength));
            }
        }
    }

    [FfmpegFact]
    public async Task Job_goes_queued_in_progress_completed_and_content_is_an_mp4_with_every_frame()
    {
        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate));
        Assert.Equal("ok", (await server.GetJsonAsync("/health")).Body.GetProperty("video").GetString()); // ffmpeg is here

        var (status, created) = await server.PostJsonAsync("/v1/videos",
            new { model = "gradient-video", prompt = "a gradient", size = "48x32", seconds = "0.5", num_inference_steps = 3, seed = 7 });
        Assert.Equal(200, status);
        string id = created.GetProperty("id").GetString()!;
        Assert.Matches("^video_[0-9a-f]{32}$", id);
        Assert.Equal("video", created.GetProperty("object").GetString());
        Assert.Equal("queued", created.GetProperty("status").GetString());
        Assert.Equal("gradient-video", created.GetProperty("model").GetString());
        Assert.Equal("48x32", created.GetProperty("size").GetString());
        Assert.Equal(9, created.GetProperty("num_frames").GetInt32()); // 0.5 s × 16 fps = 8 → 2 × 4 + 1
        Assert.Equal("0.5625", created.GetProperty("seconds").GetString());
        Assert.Equal(JsonValueKind.Null, created.GetProperty("completed_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, created.GetProperty("error").ValueKind);

        var running = await server.WaitForStatusAsync(id, Wait, "in_progress");
        Assert.InRange(running.GetProperty("progress").GetInt32(), 0, 99);
        gate.Open();
        var done = await server.WaitForStatusAsync(id, Wait, "completed", "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetInt32());
        Assert.True(done.GetProperty("completed_at").GetInt64() >= done.GetProperty("created_at").GetInt64());

        using var content = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal("video/mp4", content.Content.Headers.ContentType?.MediaType);
        Assert.Equal("bytes", content.Headers.AcceptRanges.Single());
        byte[] mp4 = await content.Content.ReadAsByteArrayAsync();
        string file = Path.Combine(Fixtures.TempDir("vg-mp4"), "v.mp4");
        await File.WriteAllBytesAsync(file, mp4);
        var probe = MediaProbe.Mp4(file);
        Assert.Equal((9, 48, 32, "h264"), probe);

        // a range request answers 206 with exactly those bytes
        using var req = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        req.Headers.Range = new RangeHeaderValue(4, 11);
        using var part = await server.Http.SendAsync(req);
        Assert.Equal(HttpStatusCode.PartialContent, part.StatusCode);
        Assert.Equal(mp4[4..12], await part.Content.ReadAsByteArrayAsync());
        Assert.Equal(mp4.Length, part.Content.Headers.ContentRange?.Length);

        // HEAD: the headers of GET, no body
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/videos/{id}/content"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("video/mp4", head.Content.Headers.ContentType?.MediaType);
        Assert.Equal(mp4.Length, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
    }

    [FfmpegFact]
    public async Task Content_has_validators_so_If_Range_resumes_only_the_same_video()
    {
        // a player or download manager resuming with If-Range gets the rest only while its validator matches;
        // any other validator means the whole file (200), never bytes of another file spliced onto what it has
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var (_, created) = await server.PostJsonAsync("/v1/videos", new { prompt = "resume", num_frames = 5, num_inference_steps = 1 });
        string id = created.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        using var full = await server.Http.GetAsync($"/v1/videos/{id}/content");
        byte[] mp4 = await full.Content.ReadAsByteArrayAsync();
        var etag = full.Headers.ETag;
        Assert.NotNull(etag);
        Assert.False(etag.IsWeak);
        Assert.NotNull(full.Content.Headers.LastModified);

        async Task<(HttpStatusCode, byte[])> Resume(RangeConditionHeaderValue condition)
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
            req.Headers.Range = new RangeHeaderValue(10, null);
            req.Headers.IfRange = condition;
            using var r = await server.Http.SendAsync(req);
            return (r.StatusCode, await r.Content.ReadAsByteArrayAsync());
        }
        var (same, rest) = await Resume(new RangeConditionHeaderValue(etag));
        Assert.Equal(HttpStatusCode.PartialContent, same);
        Assert.Equal(mp4[10..], rest);
        var (other, whole) = await Resume(new RangeConditionHeaderValue("\"another-file\""));
        Assert.Equal(HttpStatusCode.OK, other);
        Assert.Equal(mp4, whole);

        using var cached = new HttpRequestMessage(HttpMethod.Get, $"/v1/videos/{id}/content");
        cached.Headers.IfNoneMatch.Add(etag);
        using var notModified = await server.Http.SendAsync(cached);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
    }

    [FfmpegFact]
    public async Task Delete_removes_the_job_and_its_file()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var (_, created) = await server.PostJsonAsync("/v1/videos", new { prompt = "to delete", num_frames = 5, num_inference_steps = 1 });
        string id = created.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        string mp4 = Path.Combine(server.Options.DataDir, "videos", id + ".mp4"), json = Path.Combine(server.Options.DataDir, "jobs", id + ".json");
        Assert.True(File.Exists(mp4) && File.Exists(json));

        using var del = await server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        var body = await LiveServer.ReadJson(del);
        Assert.Equal(id, body.GetProperty("id").GetString());
        Assert.Equal("video.deleted", body.GetProperty("object").GetString());
        Assert.True(body.GetProperty("deleted").GetBoolean());
        Assert.False(File.Exists(mp4) || File.Exists(json));

        var (s1, e1) = await server.GetJsonAsync($"/v1/videos/{id}");
        Assert.Equal(404, s1);
        LiveServer.AssertError(e1, "not_found");
        var (s2, _) = await server.GetJsonAsync($"/v1/videos/{id}/content");
        Assert.Equal(404, s2);
        using var again = await server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
    }

    [FfmpegFact]
    public async Task Deleting_a_queued_job_takes_it_out_of_the_queue()
    {
        var gate = new PipelineGate(open: false);
        var pipeline = new GradientPipeline(gate: gate);
        await using var server = await LiveServer.StartAsync(pipeline);
        var (_, first) = await server.PostJsonAsync("/v1/videos", new { prompt = "runs", num_inference_steps = 1 });
        var (_, second) = await server.PostJsonAsync("/v1/videos", new { prompt = "deleted while queued", num_inference_steps = 1 });
        string a = first.GetProperty("id").GetString()!, b = second.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(a, Wait, "in_progress");
        Assert.Equal("queued", (await server.GetJsonAsync($"/v1/videos/{b}")).Body.GetProperty("status").GetString());
        using (var del = await server.Http.DeleteAsync($"/v1/videos/{b}")) Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        gate.Open();
        await server.WaitForStatusAsync(a, Wait, "completed");
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Equal([a], list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());
        Assert.Equal(1, pipeline.Generations);
    }

    [FfmpegFact]
    public async Task Content_of_an_unfinished_job_is_409_video_not_ready()
    {
        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate));
        var (_, created) = await server.PostJsonAsync("/v1/videos", new { prompt = "wait" });
        string id = created.GetProperty("id").GetString()!;
        var (status, body) = await server.GetJsonAsync($"/v1/videos/{id}/content");
        Assert.Equal(409, status);
        LiveServer.AssertError(body, "video_not_ready");
        gate.Open();
        await server.WaitForStatusAsync(id, Wait, "completed");
    }

    [FfmpegFact]
    public async Task Content_of_a_failed_job_is_404_video_failed_not_a_wait()
    {
        // 409 video_not_ready ("its content exists once it is completed") told the client to wait for what never comes
        await using var server = await LiveServer.StartAsync(new FailingPipeline(new InvalidOperationException("the engine broke")));
        var (_, created) = await server.PostJsonAsync("/v1/videos", new { prompt = "fails", num_inference_steps = 1 });
        string id = created.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "failed");
        var (status, body) = await server.GetJsonAsync($"/v1/videos/{id}/content");
        Assert.Equal(404, status);
        LiveServer.AssertError(body, "video_failed");
        Assert.Equal($"Video '{id}' failed (generation_failed) and has no content; GET /v1/videos/{id} says why. " +
            "Submit the request again to retry it (the video object's seed reruns the same generation).", body.GetProperty("error").GetProperty("message").GetString());
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v1/videos/{id}/content"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    [FfmpegFact]
    public async Task List_pages_with_after_limit_and_order()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
            ids.Add((await server.PostJsonAsync("/v1/videos", new { prompt = $"video {i}", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!);

        var asc = new List<string>();
        string? after = null;
        int pages = 0;
        while (true)
        {
            var (status, page) = await server.GetJsonAsync($"/v1/videos?order=asc&limit=2{(after is null ? "" : "&after=" + after)}");
            Assert.Equal(200, status);
            Assert.Equal("list", page.GetProperty("object").GetString());
            var data = page.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToList();
            Assert.Equal(data[0], page.GetProperty("first_id").GetString());
            Assert.Equal(data[^1], page.GetProperty("last_id").GetString());
            asc.AddRange(data);
            pages++;
            if (!page.GetProperty("has_more").GetBoolean()) break;
            after = page.GetProperty("last_id").GetString();
        }
        Assert.Equal(3, pages);
        Assert.Equal(ids, asc);

        var (_, desc) = await server.GetJsonAsync("/v1/videos?limit=3");
        Assert.Equal(ids.AsEnumerable().Reverse().Take(3), desc.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!));
        Assert.True(desc.GetProperty("has_more").GetBoolean());
        foreach (var id in ids) await server.WaitForStatusAsync(id, Wait, "completed");

        // the page's last id deleted before the next page is asked for (a client's delete, retention): paging goes on past it
        string cursor = desc.GetProperty("last_id").GetString()!;
        Assert.Equal(HttpStatusCode.OK, (await server.Http.DeleteAsync($"/v1/videos/{cursor}")).StatusCode);
        var (nextStatus, next) = await server.GetJsonAsync($"/v1/videos?limit=3&after={cursor}");
        Assert.Equal(200, nextStatus);
        Assert.Equal([ids[1], ids[0]], next.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!));
    }

    [FfmpegFact]
    public async Task Sync_generation_answers_the_completed_video()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        using var form = new MultipartFormDataContent
        {
            { new StringContent("multipart prompt"), "prompt" },
            { new StringContent("32x16"), "size" },
            { new StringContent("5"), "num_frames" },
            { new StringContent("1"), "num_inference_steps" },
        };
        using var r = await server.Http.PostAsync("/v1/videos/generations", form);
        var v = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("completed", v.GetProperty("status").GetString());
        Assert.Equal("32x16", v.GetProperty("size").GetString());
        using var content = await server.Http.GetAsync($"/v1/videos/{v.GetProperty("id").GetString()}/content");
        string file = Path.Combine(Fixtures.TempDir("vg-mp4"), "s.mp4");
        await File.WriteAllBytesAsync(file, await content.Content.ReadAsByteArrayAsync());
        Assert.Equal((5, 32, 16, "h264"), MediaProbe.Mp4(file));
    }

    [FfmpegFact]
    public async Task Mp4_frames_carry_the_pipeline_output()
    {
        // The first frame decoded back by ffmpeg is close to the gradient (H.264 is lossy: mean error bound).
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var (_, created) = await server.PostJsonAsync("/v1/videos", new { prompt = "x", size = "64x48", num_frames = 5, num_inference_steps = 1, seed = 3 });
        string id = created.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(id, Wait, "completed");
        string dir = Fixtures.TempDir("vg-mp4");
        string mp4 = Path.Combine(dir, "v.mp4"), png = Path.Combine(dir, "f0.png");
        await File.WriteAllBytesAsync(mp4, await server.Http.GetByteArrayAsync($"/v1/videos/{id}/content"));
        var p = System.Diagnostics.Process.Start("ffmpeg", ["-v", "error", "-i", mp4, "-frames:v", "1", "-pix_fmt", "rgb24", png])!;
        await p.WaitForExitAsync();
        Assert.Equal(0, p.ExitCode);
        var (w, h, rgb) = MediaProbe.Png(await File.ReadAllBytesAsync(png));
        Assert.Equal((64, 48), (w, h));
        var expected = GradientPipeline.To8Bit(GradientPipeline.Pixels(3, 5, 48, 64).AsSpan(0, rgb.Length), truncate: true);
        double mean = 0;
        for (int i = 0; i < rgb.Length; i++) mean += Math.Abs(rgb[i] - expected[i]);
        mean /= rgb.Length;
        Assert.True(mean < 12, $"mean abs error of frame 0 after H.264 is {mean:F2} levels");
    }
}
