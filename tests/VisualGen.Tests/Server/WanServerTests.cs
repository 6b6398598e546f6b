using System.ClientModel;
using System.Diagnostics;
using System.Net;
using OpenAI;
using OpenAI.Images;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// Acceptance on the real model: the server loads the tiny conformance Wan 2.1 T2V checkpoint with its own loader
/// and is driven over HTTP (and by the OpenAI .NET client); outputs are checked against the library's pipeline.
/// </summary>
public sealed class WanServerTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [ConformanceFact]
    public async Task OpenAI_client_image_is_the_one_frame_wan_generation()
    {
        await using var server = await WanServer.StartAsync();
        var client = new ImageClient(WanServer.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var result = await client.GenerateImageAsync("a red fox in the snow",
            new ImageGenerationOptions { Size = new GeneratedImageSize(48, 32), ResponseFormat = GeneratedImageFormat.Bytes });
        long seed = System.Text.Json.JsonDocument.Parse(result.GetRawResponse().Content.ToString())
            .RootElement.GetProperty("data")[0].GetProperty("seed").GetInt64();
        var (w, h, rgb) = MediaProbe.Png(result.Value.ImageBytes.ToArray());
        Assert.Equal((48, 32), (w, h));

        // the same call through the library: one frame, the server's defaults (the model's 50 steps, guidance 5)
        var reference = WanServer.Generate(new GenerationRequest { Prompt = "a red fox in the snow", Height = 32, Width = 48, NumFrames = 1, Seed = seed });
        Assert.Equal([1, 1, 32, 48, 3], reference.Output.Shape);
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), rgb);
        Assert.True(rgb.Distinct().Count() > 16, "the image is (nearly) flat");
    }

    [ConformanceFfmpegFact]
    public async Task Step_cache_is_reported_on_the_video_object_and_each_image_as_the_library_reports_it()
    {
        await using var server = await WanServer.StartAsync();
        var reference = WanServer.Generate(new GenerationRequest
        {
            Prompt = "a red fox in the snow", Height = 32, Width = 48, NumFrames = 5, NumInferenceSteps = 8, Seed = 3,
            TeaCache = new VisualGen.Pipelines.Caching.TeaCacheOptions(400),
        }).StepCache!;
        Assert.InRange(reference.SkippedSteps, 1, 6); // the threshold skips some steps, not all (the tiny random model's inputs change by far more per step than a trained one's, hence its size)

        var (s, video) = await server.PostJsonAsync("/v1/videos/generations",
            new { prompt = "a red fox in the snow", size = "48x32", num_frames = 5, num_inference_steps = 8, seed = 3, teacache_thresh = 400 });
        Assert.Equal(200, s);
        Assert.Equal("completed", video.GetProperty("status").GetString());
        var cache = video.GetProperty("step_cache");
        Assert.Equal(reference.Method, cache.GetProperty("method").GetString());
        Assert.Equal(reference.ComputedSteps, cache.GetProperty("computed_steps").GetInt32());
        Assert.Equal(reference.SkippedSteps, cache.GetProperty("skipped_steps").GetInt32());
        Assert.Equal(reference.ComputedText, cache.GetProperty("computed").GetString());
        // stored with the job: the listing reads it back
        var (_, listed) = await server.GetJsonAsync($"/v1/videos/{video.GetProperty("id").GetString()}");
        Assert.Equal(reference.ComputedText, listed.GetProperty("step_cache").GetProperty("computed").GetString());

        // without a step cache there is no step_cache field (OpenAI's object as it is)
        var (_, plain) = await server.PostJsonAsync("/v1/videos/generations",
            new { prompt = "a red fox in the snow", size = "48x32", num_frames = 5, num_inference_steps = 2, seed = 3 });
        Assert.False(plain.TryGetProperty("step_cache", out _));

        var imageReference = WanServer.Generate(new GenerationRequest
        {
            Prompt = "a red fox in the snow", Height = 32, Width = 48, NumFrames = 1, NumInferenceSteps = 8, Seed = 5,
            TeaCache = new VisualGen.Pipelines.Caching.TeaCacheOptions(400),
        }).StepCache!;
        var (si, images) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "a red fox in the snow", size = "48x32", num_inference_steps = 8, seed = 5, teacache_thresh = 400 });
        Assert.Equal(200, si);
        Assert.Equal(imageReference.ComputedText, images.GetProperty("data")[0].GetProperty("step_cache").GetProperty("computed").GetString());
    }

    [ConformanceFfmpegFact]
    public async Task Video_job_goes_queued_in_progress_completed_with_a_nine_frame_mp4_and_delete_removes_it()
    {
        // a first job keeps the worker busy (held at a gate, so no machine is fast enough to finish it early) so the second is
        // seen waiting; the second is held at its own gate once started, so a slow poll cannot miss its in_progress
        var gate = new PipelineGate(open: false);
        var started = new PipelineGate(open: false);
        var options = WanServer.Options();
        await using var server = await LiveServer.StartAsync(o => new GatedPipeline(new GatedPipeline(WanServer.Load(o), gate, "keeps the worker busy"),
            started, "a red fox in the snow"), options);
        var (s0, first) = await server.PostJsonAsync("/v1/videos", new { prompt = "keeps the worker busy", size = "48x32", num_frames = 5, num_inference_steps = 2 });
        Assert.Equal(200, s0);
        var (s1, created) = await server.PostJsonAsync("/v1/videos",
            new { model = WanServer.ModelId, prompt = "a red fox in the snow", size = "48x32", seconds = "0.5", num_inference_steps = 8, seed = 11 });
        Assert.Equal(200, s1);
        string busy = first.GetProperty("id").GetString()!, id = created.GetProperty("id").GetString()!;
        Assert.Equal("queued", created.GetProperty("status").GetString());
        Assert.Equal(9, created.GetProperty("num_frames").GetInt32()); // 0.5 s × 16 fps = 8 → the nearest 4k + 1
        Assert.Equal("queued", (await server.GetJsonAsync($"/v1/videos/{id}")).Body.GetProperty("status").GetString());
        gate.Open();

        var running = await server.WaitForStatusAsync(id, Wait, "in_progress");
        Assert.InRange(running.GetProperty("progress").GetInt32(), 0, 99);
        Assert.Equal("completed", (await server.GetJsonAsync($"/v1/videos/{busy}")).Body.GetProperty("status").GetString());
        started.Open();
        var done = await server.WaitForStatusAsync(id, Wait, "completed", "failed");
        Assert.Equal("completed", done.GetProperty("status").GetString());
        Assert.Equal(100, done.GetProperty("progress").GetInt32());

        using var content = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal("video/mp4", content.Content.Headers.ContentType?.MediaType);
        string dir = Fixtures.TempDir("vg-mp4"), mp4 = Path.Combine(dir, "v.mp4"), png = Path.Combine(dir, "f0.png");
        await File.WriteAllBytesAsync(mp4, await content.Content.ReadAsByteArrayAsync());
        Assert.Equal((9, 48, 32, "h264"), MediaProbe.Mp4(mp4));

        // frame 0 decoded by ffmpeg is the library's frame 0 up to H.264 loss
        using (var p = Process.Start("ffmpeg", ["-v", "error", "-i", mp4, "-frames:v", "1", "-pix_fmt", "rgb24", png])!)
        {
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
        var (_, _, rgb) = MediaProbe.Png(await File.ReadAllBytesAsync(png));
        var reference = WanServer.Generate(new GenerationRequest { Prompt = "a red fox in the snow", Height = 32, Width = 48, NumFrames = 9, NumInferenceSteps = 8, Seed = 11 });
        var expected = GradientPipeline.To8Bit(reference.Output.Floats.AsSpan(0, rgb.Length), truncate: true);
        double mean = 0;
        for (int i = 0; i < rgb.Length; i++) mean += Math.Abs(rgb[i] - expected[i]);
        mean /= rgb.Length;
        Assert.True(mean < 12, $"mean abs error of frame 0 after H.264 is {mean:F2} levels");

        string file = Path.Combine(server.Options.DataDir, "videos", id + ".mp4");
        Assert.True(File.Exists(file));
        using var del = await server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.True((await LiveServer.ReadJson(del)).GetProperty("deleted").GetBoolean());
        Assert.False(File.Exists(file));
        var (gone, err) = await server.GetJsonAsync($"/v1/videos/{id}");
        Assert.Equal(404, gone);
        LiveServer.AssertError(err, "not_found");
        Assert.Equal(404, (await server.GetJsonAsync($"/v1/videos/{id}/content")).Status);
    }

    [ConformanceFfmpegFact]
    public async Task List_pages_over_wan_jobs()
    {
        await using var server = await WanServer.StartAsync();
        var ids = new List<string>();
        for (int i = 0; i < 5; i++)
            ids.Add((await server.PostJsonAsync("/v1/videos", new { prompt = $"video {i}", size = "32x16", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!);
        foreach (var id in ids) Assert.Equal("completed", (await server.WaitForStatusAsync(id, Wait, "completed", "failed")).GetProperty("status").GetString());

        var pages = new List<string[]>();
        string? after = null;
        while (true)
        {
            var (status, page) = await server.GetJsonAsync($"/v1/videos?order=asc&limit=2{(after is null ? "" : "&after=" + after)}");
            Assert.Equal(200, status);
            pages.Add(page.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());
            if (!page.GetProperty("has_more").GetBoolean()) break;
            after = page.GetProperty("last_id").GetString();
        }
        Assert.Equal([[ids[0], ids[1]], [ids[2], ids[3]], [ids[4]]], pages);
        var (_, desc) = await server.GetJsonAsync("/v1/videos?limit=3");
        Assert.Equal(ids.AsEnumerable().Reverse().Take(3), desc.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!));
        Assert.True(desc.GetProperty("has_more").GetBoolean());
    }

    [ConformanceFact]
    public async Task Wan_rules_are_enforced_before_queueing()
    {
        await using var server = await WanServer.StartAsync();
        var (s1, e1) = await server.PostJsonAsync("/v1/videos", new { prompt = "x", size = "40x32", num_frames = 9 });
        Assert.Equal(400, s1);
        LiveServer.AssertError(e1, "invalid_value", "size");
        var (s2, e2) = await server.PostJsonAsync("/v1/videos", new { prompt = "x", size = "48x32", num_frames = 8 });
        Assert.Equal(400, s2);
        LiveServer.AssertError(e2, "invalid_value", "num_frames");
        // the pipeline refuses a width its RoPE tables do not cover by diffusers' argument name ("width"); the client
        // sent "size", and the error names that
        var (s4, e4) = await server.PostJsonAsync("/v1/videos", new { prompt = "x", size = "832x480", num_frames = 5 });
        Assert.Equal(400, s4);
        LiveServer.AssertError(e4, "invalid_value", "size");
        Assert.Contains("rope_max_seq_len", e4.GetProperty("error").GetProperty("message").GetString());
        var (s3, models) = await server.GetJsonAsync("/v1/models");
        Assert.Equal(200, s3);
        var m = models.GetProperty("data")[0];
        Assert.Equal(WanServer.ModelId, m.GetProperty("id").GetString());
        Assert.True(m.GetProperty("produces_video").GetBoolean());
        Assert.False(Directory.Exists(Path.Combine(server.Options.DataDir, "jobs")) && Directory.EnumerateFiles(Path.Combine(server.Options.DataDir, "jobs")).Any());
    }

    [ConformanceFfmpegFact]
    public async Task Killed_server_process_restarts_with_finished_and_queued_jobs()
    {
        var options = WanServer.Options(queueSize: 8);
        string done, running;
        var queued = new List<string>();
        byte[] mp4Before;
        using (var first = await ServerProcess.StartAsync(options, "--max-steps", "1000"))
        {
            done = (await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = "finished before", size = "48x32", num_frames = 5, num_inference_steps = 2 })).Body.GetProperty("id").GetString()!;
            await HttpJson.WaitForStatusAsync(first.Http, done, Wait, "completed");
            mp4Before = await first.Http.GetByteArrayAsync($"/v1/videos/{done}/content");
            running = (await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = "running when killed", size = "192x128", num_frames = 33, num_inference_steps = 1000 })).Body.GetProperty("id").GetString()!;
            await HttpJson.WaitForStatusAsync(first.Http, running, Wait, "in_progress");
            for (int i = 0; i < 3; i++)
                queued.Add((await HttpJson.PostAsync(first.Http, "/v1/videos", new { prompt = $"queued {i}", size = "48x32", num_frames = 5, num_inference_steps = 2, seed = i })).Body.GetProperty("id").GetString()!);
            foreach (var id in queued) Assert.Equal("queued", (await HttpJson.GetAsync(first.Http, $"/v1/videos/{id}")).Body.GetProperty("status").GetString());
            first.Kill();
        }

        using var second = await ServerProcess.StartAsync(options);
        var (_, d) = await HttpJson.GetAsync(second.Http, $"/v1/videos/{done}");
        Assert.Equal("completed", d.GetProperty("status").GetString());
        Assert.Equal(mp4Before, await second.Http.GetByteArrayAsync($"/v1/videos/{done}/content"));

        var (_, r) = await HttpJson.GetAsync(second.Http, $"/v1/videos/{running}");
        Assert.Equal("failed", r.GetProperty("status").GetString());
        Assert.Equal("server_restarted", r.GetProperty("error").GetProperty("code").GetString());

        var (_, list) = await HttpJson.GetAsync(second.Http, "/v1/videos?order=asc");
        Assert.Equal([done, running, .. queued], list.GetProperty("data").EnumerateArray().Select(v => v.GetProperty("id").GetString()!).ToArray());
        foreach (var id in queued)
            Assert.Equal("completed", (await HttpJson.WaitForStatusAsync(second.Http, id, Wait, "completed", "failed")).GetProperty("status").GetString());
        string file = Path.Combine(Fixtures.TempDir("vg-mp4"), "q.mp4");
        await File.WriteAllBytesAsync(file, await second.Http.GetByteArrayAsync($"/v1/videos/{queued[2]}/content"));
        Assert.Equal((5, 48, 32, "h264"), MediaProbe.Mp4(file));
    }

    [ConformanceFact]
    public void A_model_that_does_not_load_is_one_line_and_exit_code_1()
    {
        string empty = Fixtures.TempDir("vg-nomodel");
        var (code, _, err) = ServerProcess.RunToExit("--model", empty, "--port", "0", "--data", Fixtures.TempDir("vg-server"));
        Assert.Equal(1, code);
        string line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("VisualGen.Server: cannot start: ", line);
        Assert.Contains(Path.Combine(empty, "model_index.json"), line);

        var (code2, _, err2) = ServerProcess.RunToExit("--model", WanServer.Checkpoint, "--engine", "ort-tpu", "--port", "0", "--data", Fixtures.TempDir("vg-server"));
        Assert.Equal(1, code2);
        Assert.Equal("VisualGen.Server: cannot start: unknown engine 'ort-tpu'; available: ort-cpu, ort-cuda, native-cuda", err2.Trim());
    }
}
