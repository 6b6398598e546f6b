using VisualGen.Tests.Media;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>Hostile or odd input: undecodable text, forged Host headers, unknown fields, damaged job records, leaky errors.</summary>
public sealed class HardeningTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    static ServerOptions Options() => new() { DataDir = Fixtures.TempDir("vg-server") };

    static ByteArrayContent JsonBytes(byte[] body) =>
        new(body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } };

    public static TheoryData<string, byte[]> UndecodableBodies => new()
    {
        { "lone high surrogate escape", Encoding.ASCII.GetBytes("{\"prompt\":\"a \\ud800 b\"}") },
        { "lone low surrogate escape", Encoding.ASCII.GetBytes("{\"prompt\":\"\\udc00\"}") },
        { "surrogate escape in a field name", Encoding.ASCII.GetBytes("{\"\\ud800\":1,\"prompt\":\"p\"}") },
        { "invalid UTF-8 byte", [.. Encoding.ASCII.GetBytes("{\"prompt\":\"a "), 0xFF, 0xFE, .. Encoding.ASCII.GetBytes("\"}")] },
        { "truncated UTF-8 sequence", [.. Encoding.ASCII.GetBytes("{\"prompt\":\"x"), 0xE2, 0x82, .. Encoding.ASCII.GetBytes("\"}")] },
        { "encoded surrogate (CESU-8)", [.. Encoding.ASCII.GetBytes("{\"prompt\":\""), 0xED, 0xA0, 0x80, .. Encoding.ASCII.GetBytes("\"}")] },
    };

    [Theory]
    [MemberData(nameof(UndecodableBodies))]
    public async Task Undecodable_text_in_a_json_body_is_400_not_500(string what, byte[] body)
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options());
        foreach (var path in new[] { "/v1/videos", "/v1/images/generations" })
        {
            using var r = await server.Http.PostAsync(path, JsonBytes(body));
            var error = await LiveServer.ReadJson(r);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{what} on {path}: {(int)r.StatusCode} {error}");
            LiveServer.AssertError(error, "invalid_value", "body");
        }
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Empty(list.GetProperty("data").EnumerateArray());
    }

    [FfmpegFact]
    public async Task A_stored_job_with_an_unknown_status_is_skipped_and_metrics_still_answer()
    {
        var options = Options();
        string id;
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(), options))
        {
            id = (await first.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(id, Wait, "completed");
        }
        // a record written by a newer server, or edited by hand
        string file = Path.Combine(options.DataDir, "jobs", id + ".json");
        File.WriteAllText(file, File.ReadAllText(file).Replace("\"status\":\"completed\"", "\"status\":\"paused\""));
        Assert.Contains("\"paused\"", File.ReadAllText(file));

        await using var server = await LiveServer.StartAsync(new GradientPipeline(), options);
        using var r = await server.Http.GetAsync("/metrics");
        string text = await r.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Contains("visualgen_video_jobs{status=\"completed\"} 0", text.Split('\n'));
        Assert.DoesNotContain("paused", text);
        Assert.Contains(server.Logs.Lines, l => l.Contains("skipping unreadable job file") && l.Contains("status 'paused'"));
        Assert.Equal(404, (await server.GetJsonAsync($"/v1/videos/{id}")).Status);
        Assert.True(File.Exists(Path.Combine(options.DataDir, "videos", id + ".mp4"))); // kept with its unreadable record, not taken for an orphan
    }

    [FfmpegFact]
    public async Task A_record_without_its_spec_is_skipped_and_one_without_its_video_is_failed_at_start()
    {
        var options = Options();
        string id;
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(), options))
        {
            id = (await first.PostJsonAsync("/v1/videos", new { prompt = "p", num_frames = 1, num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(id, Wait, "completed");
        }
        string jobs = Path.Combine(options.DataDir, "jobs"), record = File.ReadAllText(Path.Combine(jobs, id + ".json"));
        // a copy of the record under another id, queued, whose spec is null (valid JSON, and "spec" present)
        string broken = "video_" + new string('1', 32);
        var node = System.Text.Json.Nodes.JsonNode.Parse(record)!;
        node["id"] = broken;
        node["status"] = "queued";
        node["spec"] = null;
        File.WriteAllText(Path.Combine(jobs, broken + ".json"), node.ToJsonString());
        // the completed job's video lost
        File.Delete(Path.Combine(options.DataDir, "videos", id + ".mp4"));

        await using var server = await LiveServer.StartAsync(new GradientPipeline(), options);
        Assert.Contains(server.Logs.Lines, l => l.Contains("skipping unreadable job file") && l.Contains("no model, spec or prompt"));
        var (status, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Equal(200, status);
        var only = Assert.Single(list.GetProperty("data").EnumerateArray());
        Assert.Equal(id, only.GetProperty("id").GetString());
        Assert.Equal("failed", only.GetProperty("status").GetString());
        Assert.Equal("output_missing", only.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(404, (await server.GetJsonAsync($"/v1/videos/{broken}")).Status);
        using var content = await server.Http.GetAsync($"/v1/videos/{id}/content");
        Assert.Equal(HttpStatusCode.NotFound, content.StatusCode);  // failed: status and content agree
        var refused = await LiveServer.ReadJson(content);
        LiveServer.AssertError(refused, "video_failed");
        Assert.Contains("failed (output_missing) and has no content", refused.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Image_urls_use_the_listening_address_not_a_forged_host_header()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false), Options());
        using var req = new HttpRequestMessage(HttpMethod.Post, "/v1/images/generations")
        {
            Content = LiveServer.JsonBody(new { prompt = "p", response_format = "url", num_inference_steps = 1 }),
        };
        req.Headers.Host = "attacker.example:666";
        using var r = await server.Http.SendAsync(req);
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        string url = body.GetProperty("data")[0].GetProperty("url").GetString()!;
        Assert.DoesNotContain("attacker", url);
        Assert.StartsWith(server.BaseAddress.ToString().TrimEnd('/') + "/v1/images/img_", url);
        using var png = await server.Http.GetAsync(url);
        Assert.Equal("image/png", png.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Image_urls_use_the_configured_public_url()
    {
        var options = ServerOptions.Parse(["--public-url", "https://gen.example.com/visualgen/", "--data", Fixtures.TempDir("vg-server")], _ => null);
        Assert.Equal("https://gen.example.com/visualgen", options.PublicUrl);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false), options);
        var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", response_format = "url", num_inference_steps = 1 });
        Assert.Equal(200, status);
        string url = body.GetProperty("data")[0].GetProperty("url").GetString()!;
        Assert.Matches("^https://gen\\.example\\.com/visualgen/v1/images/img_[0-9a-f]{32}/content$", url);
        // the path under the public URL is the server's own
        using var png = await server.Http.GetAsync(new Uri(url).AbsolutePath["/visualgen".Length..]);
        Assert.Equal(HttpStatusCode.OK, png.StatusCode);
        using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(url).AbsolutePath["/visualgen".Length..]));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal("image/png", head.Content.Headers.ContentType?.MediaType);
        Assert.Equal((await png.Content.ReadAsByteArrayAsync()).Length, head.Content.Headers.ContentLength);

        foreach (var bad in new[] { "gen.example.com", "ftp://gen.example.com", "https://gen.example.com/?a=1", "/relative" })
            Assert.Contains("--public-url", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--public-url", bad], _ => null)).Message);
    }

    [FfmpegFact]
    public async Task Queue_full_answers_retry_after()
    {
        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate), Options() with { QueueSize = 1 });
        string running = (await server.PostJsonAsync("/v1/videos", new { prompt = "runs", num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(running, Wait, "in_progress");
        Assert.Equal(200, (await server.PostJsonAsync("/v1/videos", new { prompt = "waits", num_inference_steps = 1 })).Status);
        foreach (var path in new[] { "/v1/videos", "/v1/images/generations" })
        {
            using var r = await server.Http.PostAsync(path, LiveServer.JsonBody(new { prompt = "too many" }));
            Assert.Equal(HttpStatusCode.TooManyRequests, r.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(VisualGen.Server.Jobs.JobService.QueueFullRetryAfterSeconds), r.Headers.RetryAfter?.Delta);
            LiveServer.AssertError(await LiveServer.ReadJson(r), "queue_full", type: "rate_limit_error");
        }
        gate.Open();
    }

    [Theory]
    [InlineData("/v1/videos", "{\"prompt\":\"p\",\"num_infrence_steps\":4}", "num_infrence_steps")]
    [InlineData("/v1/videos", "{\"prompt\":\"p\",\"quality\":\"hd\"}", "quality")]
    [InlineData("/v1/images/generations", "{\"prompt\":\"p\",\"style\":\"vivid\"}", "style")]
    [InlineData("/v1/images/generations", "{\"prompt\":\"p\",\"num_frames\":5}", "num_frames")]
    public async Task Unknown_fields_are_refused_with_400(string path, string json, string field)
    {
        var pipeline = new GradientPipeline();
        await using var server = await LiveServer.StartAsync(pipeline, Options());
        using var r = await server.Http.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(body, "unknown_parameter", field);
        Assert.Contains($"'{field}'", body.GetProperty("error").GetProperty("message").GetString());
        Assert.Equal(0, pipeline.Generations);
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Empty(list.GetProperty("data").EnumerateArray());
    }

    [FfmpegFact] // the documented fields' video request must be taken: a server without ffmpeg refuses it (503)
    public async Task Unknown_multipart_fields_are_refused_and_known_ones_pass()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options());
        using var form = new MultipartFormDataContent { { new StringContent("p"), "prompt" }, { new StringContent("1"), "loop" } };
        using var r = await server.Http.PostAsync("/v1/videos", form);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "unknown_parameter", "loop");
        // every documented field together is accepted ("user" on images is OpenAI's and has no effect)
        var (s1, _) = await server.PostJsonAsync("/v1/videos", new
        {
            model = "gradient-video", prompt = "p", seconds = "1", size = "48x32", negative_prompt = "n", num_frames = 5, fps = 8,
            num_inference_steps = 1, guidance_scale = 2.0, true_cfg_scale = 1.0, seed = 1,
        });
        Assert.Equal(200, s1);
        var (s2, _) = await server.PostJsonAsync("/v1/images/generations", new
        {
            model = "gradient-video", prompt = "p", n = 1, size = "48x32", response_format = "b64_json", output_format = "png", user = "u1",
            negative_prompt = "n", num_inference_steps = 1, guidance_scale = 2.0, true_cfg_scale = 1.0, seed = 1,
        });
        Assert.Equal(200, s2);
    }

    [FfmpegFact]
    public async Task Errors_name_no_server_paths_or_onnx_internals()
    {
        const string Onnx = "[ErrorCode:RuntimeException] Non-zero status code returned while running MatMul node. Name:'/blocks.0/attn/to_q/MatMul' "
            + "in /root/.cache/visualgen/engines/3f2a9c/transformer.onnx";
        var failing = new FailingPipeline(new InvalidOperationException(Onnx));
        await using (var server = await LiveServer.StartAsync(failing, Options()))
        {
            string id = (await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            var job = await server.WaitForStatusAsync(id, Wait, "failed");
            string message = job.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Equal("generation_failed", job.GetProperty("error").GetProperty("code").GetString());
            AssertClean(message);
            Assert.Contains(id, message); // a handle for the operator's log
            Assert.Contains(server.Logs.Lines, l => l.Contains("transformer.onnx")); // the details are in the log

            var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", num_inference_steps = 1 });
            Assert.Equal(500, status);
            AssertClean(body.GetProperty("error").GetProperty("message").GetString()!);
        }

        // the pipeline's own refusals reach the client, with file paths cut to the file name
        var refusing = new FailingPipeline(new GenerationException("image", "cannot read '/srv/private/models/wan/image_encoder/config.json': truncated"));
        await using (var server = await LiveServer.StartAsync(refusing, Options()))
        {
            string id = (await server.PostJsonAsync("/v1/videos", new { prompt = "p", num_inference_steps = 1 })).Body.GetProperty("id").GetString()!;
            var job = await server.WaitForStatusAsync(id, Wait, "failed");
            string message = job.GetProperty("error").GetProperty("message").GetString()!;
            Assert.Equal("input_reference: cannot read 'config.json': truncated", message);  // a video's image arrives as input_reference
            var (status, body) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "p", num_inference_steps = 1 });
            Assert.Equal(400, status);
            Assert.Equal("cannot read 'config.json': truncated", body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    static void AssertClean(string message)
    {
        foreach (var leak in new[] { "/root", ".cache", "engines", "MatMul", "ErrorCode", "onnx", "/blocks" })
            Assert.DoesNotContain(leak, message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Client_text_cuts_absolute_paths_to_file_names()
    {
        Assert.Equal("file 'model.onnx' missing", VisualGen.Server.Api.ClientText.WithoutPaths("file '/a/b/model.onnx' missing"));
        Assert.Equal("folder (a server folder) is empty", VisualGen.Server.Api.ClientText.WithoutPaths("folder /data/jobs/ is empty"));
        Assert.Equal("in config.json", VisualGen.Server.Api.ClientText.WithoutPaths(@"in C:\models\wan\config.json"));
        foreach (var kept in new[] { "see https://example.com/a/b", "frames / fps", "num_frames - 1 must be a multiple of 4", "a/b relative" })
            Assert.Equal(kept, VisualGen.Server.Api.ClientText.WithoutPaths(kept));
    }

    [Fact]
    public async Task HEAD_is_answered_wherever_GET_is_with_its_status_and_headers_and_no_body()
    {
        // it was 405 (Allow: GET) on every JSON route: load balancers' health checks and clients probing a URL send HEAD
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), Options() with { ApiKeys = ["k"] });
        string model = (await server.GetJsonAsync("/v1/models")).Body.GetProperty("data")[0].GetProperty("id").GetString()!;
        string[] paths = ["/health", "/v1/models", $"/v1/models/{model}", "/v1/videos", "/metrics"];
        foreach (var path in paths)
        {
            using var get = await server.Http.GetAsync(path);
            using var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(get.StatusCode, head.StatusCode);
            Assert.Equal(get.Content.Headers.ContentType?.MediaType, head.Content.Headers.ContentType?.MediaType);
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
        using var missing = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/videos/video_0123456789abcdef0123456789abcdef"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        // /health needs no key for HEAD either; the other routes still do
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/health"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v1/models"))).StatusCode);
        using var post = await server.Http.PostAsync("/health", null);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow.Order());
    }

}

/// <summary>A pipeline that validates as the gradient one and fails every generation with the given exception.</summary>
public sealed class FailingPipeline(Exception failure) : IGenerationPipeline
{
    readonly GradientPipeline _shape = new();

    public PipelineInfo Info => _shape.Info;
    public void Validate(GenerationRequest request) => _shape.Validate(request);
    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) => Task.FromException<GenerationResult>(failure);
    public void Dispose() { }
}
