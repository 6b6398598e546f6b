using System.Net;
using System.Net.Http.Headers;
using System.Text;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>Bad input: status codes and OpenAI error bodies; ids; API keys; upload limits.</summary>
public sealed class ValidationTests : IAsyncLifetime
{
    LiveServer _server = null!;
    GradientPipeline _pipeline = null!;

    public async Task InitializeAsync()
    {
        _pipeline = new GradientPipeline();
        _server = await LiveServer.StartAsync(_pipeline, new ServerOptions
        {
            DataDir = Fixtures.TempDir("vg-server"), MaxUploadBytes = 64 * 1024, MaxSide = 512, MaxFrames = 33, MaxSteps = 50,
        });
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("{\"prompt\":\"p\",\"size\":\"48 by 32\"}", 400, "invalid_value", "size")]
    [InlineData("{\"prompt\":\"p\",\"size\":\"50x32\"}", 400, "invalid_value", "size")]
    [InlineData("{\"prompt\":\"p\",\"size\":\"48x0\"}", 400, "invalid_value", "size")]
    [InlineData("{\"prompt\":\"p\",\"size\":\"1024x32\"}", 400, "invalid_value", "size")]
    [InlineData("{\"prompt\":\"p\",\"size\":\"48x32\\n\"}", 400, "invalid_value", "size")] // a trailing newline, as a trailing space is
    [InlineData("{\"prompt\":\"p\",\"num_frames\":10}", 400, "invalid_value", "num_frames")]
    [InlineData("{\"prompt\":\"p\",\"num_frames\":37}", 400, "invalid_value", "num_frames")]
    [InlineData("{\"prompt\":\"p\",\"num_frames\":\"many\"}", 400, "invalid_value", "num_frames")]
    [InlineData("{\"prompt\":\"p\",\"seconds\":\"60\"}", 400, "invalid_value", "seconds")]
    [InlineData("{\"prompt\":\"p\",\"seconds\":0}", 400, "invalid_value", "seconds")]
    [InlineData("{\"prompt\":\"p\",\"seed\":1,\"seed\":2}", 400, "invalid_value", "seed")]
    [InlineData("{\"prompt\":\"p\",\"num_inference_steps\":0}", 400, "invalid_value", "num_inference_steps")]
    [InlineData("{\"prompt\":\"p\",\"num_inference_steps\":51}", 400, "invalid_value", "num_inference_steps")]
    [InlineData("{\"prompt\":\"p\",\"num_inference_steps\":2.5}", 400, "invalid_value", "num_inference_steps")]
    [InlineData("{\"prompt\":\"p\",\"guidance_scale\":-1}", 400, "invalid_value", "guidance_scale")]
    [InlineData("{\"prompt\":\"p\",\"seed\":-3}", 400, "invalid_value", "seed")]
    [InlineData("{\"prompt\":\"p\",\"fps\":0}", 400, "invalid_value", "fps")]
    [InlineData("{\"size\":\"48x32\"}", 400, "missing_required_parameter", "prompt")]
    [InlineData("{\"prompt\":\"   \"}", 400, "invalid_value", "prompt")]
    [InlineData("{\"prompt\":42}", 400, "invalid_value", "prompt")]
    [InlineData("{\"prompt\":\"p\",\"model\":\"sora-2\"}", 404, "model_not_found", "model")]
    [InlineData("[1,2]", 400, "invalid_value", "body")]
    [InlineData("{\"prompt\":", 400, "invalid_value", "body")]
    public async Task Bad_video_requests_are_refused_with_an_error_body(string json, int status, string code, string param)
    {
        using var r = await _server.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(status, (int)r.StatusCode);
        LiveServer.AssertError(body, code, param);
        var (_, list) = await _server.GetJsonAsync("/v1/videos");
        Assert.Empty(list.GetProperty("data").EnumerateArray()); // nothing was stored
    }

    [Theory]
    [InlineData("{\"prompt\":\"p\",\"n\":9}", "n")]
    [InlineData("{\"prompt\":\"p\",\"response_format\":\"jpeg\"}", "response_format")]
    [InlineData("{\"prompt\":\"p\",\"output_format\":\"webp\"}", "output_format")]
    [InlineData("{\"prompt\":\"p\",\"user\":5}", "user")] // OpenAI's end-user id is a string
    [InlineData("{\"prompt\":\"p\",\"size\":\"7x7\"}", "size")]
    [InlineData("{\"prompt\":\"p\",\"seed\":9223372036854775807,\"n\":2}", "seed")] // image 1's seed + 1 would wrap to a negative seed
    public async Task Bad_image_requests_are_refused(string json, string param)
    {
        using var r = await _server.Http.PostAsync("/v1/images/generations", new StringContent(json, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "invalid_value", param);
        Assert.Equal(0, _pipeline.Generations);
    }

    [Fact]
    public async Task Image_seeds_reach_the_largest_seed_without_wrapping()
    {
        var (status, body) = await _server.PostJsonAsync("/v1/images/generations",
            new { prompt = "p", size = "48x32", n = 2, seed = long.MaxValue - 1, num_inference_steps = 1 });
        Assert.True(status == 200, body.ToString());
        Assert.Equal([long.MaxValue - 1, long.MaxValue], body.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("seed").GetInt64()));

        using var r = await _server.Http.PostAsync("/v1/images/generations",
            new StringContent("{\"prompt\":\"p\",\"seed\":9223372036854775806,\"n\":3}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var error = await LiveServer.ReadJson(r);
        LiveServer.AssertError(error, "invalid_value", "seed");
        Assert.Contains("n = 3", error.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Wrong_content_type_is_415()
    {
        using var r = await _server.Http.PostAsync("/v1/videos", new StringContent("prompt=p", Encoding.UTF8, "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "unsupported_media_type", "body");
    }

    [Fact]
    public async Task Range_errors_say_whether_the_bound_is_excluded()
    {
        foreach (var (json, expected) in new[]
                 {
                     ("{\"prompt\":\"p\",\"seconds\":0}", "'seconds' must be in (0, 3600], got 0."),
                     ("{\"prompt\":\"p\",\"seconds\":-1}", "'seconds' must be in (0, 3600], got -1."),
                     ("{\"prompt\":\"p\",\"shift\":0}", "'shift' must be in (0, 1000], got 0."),
                 })
        {
            using var r = await _server.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(expected, (await LiveServer.ReadJson(r)).GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Integer_errors_say_what_is_wrong_with_the_number()
    {
        foreach (var (json, expected) in new[]
                 {
                     // past the range, however many digits (it was "must be an integer")
                     ("{\"prompt\":\"p\",\"seed\":99999999999999999999999}", "'seed' must be in [0, 9223372036854775807], got 99999999999999999999999."),
                     ("{\"prompt\":\"p\",\"seed\":\"99999999999999999999999\"}", "'seed' must be in [0, 9223372036854775807], got 99999999999999999999999."),
                     ("{\"prompt\":\"p\",\"num_inference_steps\":1e10}", "'num_inference_steps' must be in [1, 50], got 1e10."),
                     ("{\"prompt\":\"p\",\"num_frames\":1e400}", "'num_frames' must be in [1, 33], got 1e400."),
                     ("{\"prompt\":\"p\",\"size\":\"99999999999x64\"}", "'size' 99999999999x64: width 99999999999 must be in [16, 512]."),
                     // not integers
                     ("{\"prompt\":\"p\",\"num_inference_steps\":2.5}", "'num_inference_steps' must be an integer, got 2.5."),
                     ("{\"prompt\":\"p\",\"seed\":1.0000000000000000001}", "'seed' must be an integer, got 1.0000000000000000001."),
                     ("{\"prompt\":\"p\",\"fps\":\"Infinity\"}", "'fps' must be an integer, got 'Infinity'."),
                 })
        {
            using var r = await _server.Http.PostAsync("/v1/videos", new StringContent(json, Encoding.UTF8, "application/json"));
            var body = await LiveServer.ReadJson(r);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{json}: {(int)r.StatusCode} {body}");
            Assert.Equal(expected, body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task Integers_are_taken_however_JSON_writes_them()
    {
        // JSON has one number type: clients holding numbers as doubles send 2.0 or 7e0
        using var r = await _server.Http.PostAsync("/v1/images/generations", new StringContent(
            "{\"prompt\":\"p\",\"size\":\"48x32\",\"n\":2.0,\"seed\":7e0,\"num_inference_steps\":1E0}", Encoding.UTF8, "application/json"));
        var body = await LiveServer.ReadJson(r);
        Assert.True(r.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal([7L, 8L], body.GetProperty("data").EnumerateArray().Select(d => d.GetProperty("seed").GetInt64()));
        Assert.Equal(1, _pipeline.LastRequest!.NumInferenceSteps);
    }

    /// <summary>A compressed body is a 415 naming its Content-Encoding (it read as malformed JSON: a 400); identity is
    /// no encoding and reads as before.</summary>
    [Fact]
    public async Task Compressed_bodies_are_415()
    {
        var raw = new MemoryStream();
        using (var gz = new System.IO.Compression.GZipStream(raw, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            gz.Write(Encoding.UTF8.GetBytes("{\"prompt\":\"p\",\"seconds\":\"1\"}"));
        var content = new ByteArrayContent(raw.ToArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        content.Headers.ContentEncoding.Add("gzip");
        using var r = await _server.Http.PostAsync("/v1/videos", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var body = await LiveServer.ReadJson(r);
        LiveServer.AssertError(body, "unsupported_media_type", "body");
        Assert.Contains("Content-Encoding 'gzip'", body.GetProperty("error").GetProperty("message").GetString());
        var identity = new StringContent("not json", Encoding.UTF8, "application/json");
        identity.Headers.ContentEncoding.Add("identity");
        using var r2 = await _server.Http.PostAsync("/v1/videos", identity);
        Assert.Equal(HttpStatusCode.BadRequest, r2.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r2), "invalid_value", "body");
    }

    [Fact]
    public async Task Url_encoded_bodies_are_415_with_a_hint_for_curl()
    {
        // curl -d '{"prompt":"p"}' without a Content-Type header sends this
        using var r = await _server.Http.PostAsync("/v1/videos", new StringContent("{\"prompt\":\"p\"}", Encoding.UTF8, "application/x-www-form-urlencoded"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, r.StatusCode);
        var body = await LiveServer.ReadJson(r);
        LiveServer.AssertError(body, "unsupported_media_type", "body");
        Assert.Contains("-H 'Content-Type: application/json'", body.GetProperty("error").GetProperty("message").GetString());
        var (_, list) = await _server.GetJsonAsync("/v1/videos");
        Assert.Empty(list.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task A_multipart_body_cut_off_before_its_closing_boundary_is_400()
    {
        foreach (var path in new[] { "/v1/videos", "/v1/images/generations", "/v1/images/edits" })
        {
            var cut = new ByteArrayContent(Encoding.ASCII.GetBytes("--XX\r\nContent-Disposition: form-data; name=\"prompt\"\r\n\r\nhi"));
            cut.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data; boundary=XX");
            using var r = await _server.Http.PostAsync(path, cut);
            var body = await LiveServer.ReadJson(r);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)r.StatusCode} {body}");
            LiveServer.AssertError(body, "invalid_value", "body");
            Assert.Contains("closing boundary", body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [Fact]
    public async Task A_multipart_body_the_server_cannot_read_is_invalid_value_naming_the_body()
    {
        // no boundary in its Content-Type: 400 "bad_request" with no param, a code the error table does not have
        var noBoundary = new ByteArrayContent(Encoding.ASCII.GetBytes("--XX\r\n"));
        noBoundary.Headers.TryAddWithoutValidation("Content-Type", "multipart/form-data");
        using var r = await _server.Http.PostAsync("/v1/images/generations", noBoundary);
        var body = await LiveServer.ReadJson(r);
        Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{(int)r.StatusCode} {body}");
        LiveServer.AssertError(body, "invalid_value", "body");
    }

    [Fact]
    public async Task Multipart_fields_sent_twice_or_as_the_wrong_kind_of_part_are_refused_by_name()
    {
        static ByteArrayContent Png() => new(new byte[100]) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } };
        var cases = new (string Path, MultipartFormDataContent Form, string Code, string Param, string Text)[]
        {
            ("/v1/videos", new() { { new StringContent("a"), "prompt" }, { new StringContent("b"), "prompt" } },
                "invalid_value", "prompt", "'prompt' appears more than once"),
            ("/v1/videos", new() { { new StringContent("p"), "size" }, { Png(), "prompt", "p.txt" } },
                "unsupported_parameter", "prompt", "'prompt' was sent as a file part; send it as a text field."),
            ("/v1/images/generations", new() { { new StringContent("p"), "prompt" }, { Png(), "image", "in.png" } },
                "unsupported_parameter", "image", "/v1/images/generations takes no files"),
            ("/v1/images/generations", new() { { new StringContent("p"), "prompt" }, { Png(), "whatever", "in.png" } },
                "unsupported_parameter", "whatever", "Unexpected file part 'whatever'"),
            ("/v1/images/edits", new() { { new StringContent("p"), "prompt" }, { new StringContent("iVBORw0KGgo="), "image" } },
                "invalid_value", "image", "'image' must be an image file part"),
            ("/v1/images/edits", new() { { new StringContent("p"), "prompt" }, { Png(), "image", "in.png" }, { Png(), "extra", "x.png" } },
                "unsupported_parameter", "extra", "takes the file parts 'image', 'image[]', 'mask'"),
        };
        foreach (var (path, form, code, param, text) in cases)
        {
            using (form)
            using (var r = await _server.Http.PostAsync(path, form))
            {
                var body = await LiveServer.ReadJson(r);
                Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{path} {param}: {(int)r.StatusCode} {body}");
                LiveServer.AssertError(body, code, param);
                Assert.Contains(text, body.GetProperty("error").GetProperty("message").GetString());
            }
        }
        Assert.Equal(0, _pipeline.Generations);
    }

    [Theory]
    [InlineData("video_0123")]
    [InlineData("video_0123456789abcdef0123456789ABCDEF")]
    [InlineData("img_0123456789abcdef0123456789abcdef")]
    [InlineData("..%2F..%2Fjobs%2Fx")]
    [InlineData("video_0123456789abcdef0123456789abcdef")] // well formed, never issued
    public async Task Bad_or_unknown_ids_are_404(string id)
    {
        foreach (var path in new[] { $"/v1/videos/{id}", $"/v1/videos/{id}/content" })
        {
            var (status, body) = await _server.GetJsonAsync(path);
            Assert.Equal(404, status);
            LiveServer.AssertError(body, "not_found");
        }
        using var del = await _server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.NotFound, del.StatusCode);
    }

    [Fact]
    public async Task Traversal_through_the_path_never_reaches_a_file()
    {
        // a file beside the data folder that a path-joining server would serve
        File.WriteAllText(Path.Combine(_server.Options.DataDir, "secret.mp4"), "secret");
        var (status, body) = await _server.GetJsonAsync("/v1/videos/..%2Fsecret/content");
        Assert.Equal(404, status);
        LiveServer.AssertError(body, "not_found");
    }

    [Fact]
    public async Task List_rejects_bad_paging_arguments()
    {
        foreach (var (q, param) in new[] { ("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"), ("order=up", "order"),
                     ("after=video_0123456789abcdef0123456789abcdef", "after"), ("after=../x", "after") })
        {
            var (status, body) = await _server.GetJsonAsync("/v1/videos?" + q);
            Assert.Equal(400, status);
            LiveServer.AssertError(body, "invalid_value", param);
        }
    }

    [Fact]
    public async Task Edits_for_a_model_without_image_input_is_400_unsupported_model()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("edit it"), "prompt" },
            { new ByteArrayContent(new byte[100]) { Headers = { ContentType = new MediaTypeHeaderValue("image/png") } }, "image", "in.png" },
        };
        using var r = await _server.Http.PostAsync("/v1/images/edits", form);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "unsupported_model", "model");
    }

    [Fact]
    public async Task Edits_without_an_image_is_400_missing()
    {
        using var form = new MultipartFormDataContent { { new StringContent("edit it"), "prompt" } };
        using var r = await _server.Http.PostAsync("/v1/images/edits", form);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "missing_required_parameter", "image");
    }

    [Fact]
    public async Task Oversized_upload_is_413()
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("edit it"), "prompt" },
            { new ByteArrayContent(new byte[200 * 1024]), "image", "big.png" },
        };
        using var r = await _server.Http.PostAsync("/v1/images/edits", form);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "request_too_large");
        // the same limit holds for a JSON body
        using var big = await _server.Http.PostAsync("/v1/videos",
            new StringContent("{\"prompt\":\"" + new string('a', 100 * 1024) + "\"}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, big.StatusCode);
    }

    [Fact]
    public async Task Video_endpoints_refuse_an_image_model()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false));
        var (status, body) = await server.PostJsonAsync("/v1/videos", new { prompt = "p" });
        Assert.Equal(400, status);
        LiveServer.AssertError(body, "unsupported_model", "model");
    }

    [Fact]
    public async Task Unknown_route_is_an_error_body()
    {
        var (status, body) = await _server.GetJsonAsync("/v1/audio/speech");
        Assert.Equal(404, status);
        LiveServer.AssertError(body, "unknown_url");
    }

    [Theory]
    [InlineData("GET", "/v1/videos/generations")]
    [InlineData("DELETE", "/v1/videos/generations")]
    [InlineData("GET", "/v1/videos/Generations")]
    [InlineData("GET", "/v1/images/generations")]
    [InlineData("DELETE", "/v1/images/generations")]
    [InlineData("DELETE", "/v1/images/edits")]
    [InlineData("PUT", "/v1/videos/generations")]
    public async Task Another_method_on_a_post_route_is_405_not_a_lookup_of_an_id_named_like_it(string method, string path)
    {
        // /v1/videos/{id} (GET, DELETE) and /v1/images/{id} (DELETE) took these paths: "No video with id 'generations' found"
        using var r = await _server.Http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, r.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r), "method_not_allowed");
        Assert.Equal(["POST"], r.Content.Headers.Allow);
        // the ids beside them are still looked up
        var (status, body) = await _server.GetJsonAsync("/v1/videos/generation");
        Assert.Equal(404, status);
        LiveServer.AssertError(body, "not_found");
    }

    [Fact]
    public async Task Models_and_health()
    {
        var (s1, models) = await _server.GetJsonAsync("/v1/models");
        Assert.Equal(200, s1);
        var m = Assert.Single(models.GetProperty("data").EnumerateArray());
        Assert.Equal("gradient-video", m.GetProperty("id").GetString());
        Assert.Equal("model", m.GetProperty("object").GetString());
        Assert.True(m.GetProperty("produces_video").GetBoolean());
        Assert.Equal("48x32", m.GetProperty("default_size").GetString());
        var (s2, health) = await _server.GetJsonAsync("/health");
        Assert.Equal(200, s2);
        Assert.Equal("ok", health.GetProperty("status").GetString());
        Assert.Equal(16, health.GetProperty("queue_capacity").GetInt32());
        Assert.Matches("^(ok|unavailable: .+)$", health.GetProperty("video").GetString()); // "ok" where ffmpeg is on PATH
    }
}

public sealed class ApiKeyTests
{
    [Fact]
    public async Task Keys_are_required_when_configured()
    {
        var options = new ServerOptions { DataDir = Fixtures.TempDir("vg-server"), ApiKeys = ["sk-one", "sk-two-longer"] };
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), options);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };

        using (var r = await anonymous.GetAsync("/v1/models"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            LiveServer.AssertError(await LiveServer.ReadJson(r), "missing_api_key");
        }
        foreach (var wrong in new[] { "sk-on", "sk-onex", "SK-ONE", "sk-two" })
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new("Bearer", wrong) } };
            using var r = await anonymous.SendAsync(req);
            Assert.True(r.StatusCode == HttpStatusCode.Unauthorized, $"key '{wrong}' got {r.StatusCode}");
            LiveServer.AssertError(await LiveServer.ReadJson(r), "invalid_api_key");
        }
        foreach (var right in new[] { "sk-one", "sk-two-longer" })
        {
            using var req = new HttpRequestMessage(HttpMethod.Get, "/v1/models") { Headers = { Authorization = new("Bearer", right) } };
            using var r = await anonymous.SendAsync(req);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        using (var r = await anonymous.GetAsync("/health")) Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        using (var r = await anonymous.PostAsync("/v1/videos", LiveServer.JsonBody(new { prompt = "p" })))
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Empty(list.GetProperty("data").EnumerateArray());
    }

    [Fact]
    public async Task Health_needs_no_key_however_its_path_is_spelt()
    {
        // routing answers /health/ and /Health with the health endpoint (a load balancer's probe may be configured either
        // way); the key check compared the raw path with "/health" and answered those 401, so the probe saw a dead server
        var options = new ServerOptions { DataDir = Fixtures.TempDir("vg-server"), ApiKeys = ["sk-one"] };
        await using var server = await LiveServer.StartAsync(new GradientPipeline(), options);
        using var anonymous = new HttpClient { BaseAddress = server.BaseAddress };
        foreach (var path in new[] { "/health", "/health/", "/Health", "/HEALTH" })
        {
            using var r = await anonymous.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.OK, $"{path} got {r.StatusCode}");
            Assert.Equal("ok", (await LiveServer.ReadJson(r)).GetProperty("status").GetString());
        }
        // other routes, and unknown ones, still need it
        foreach (var path in new[] { "/v1/models/", "/V1/MODELS", "/health/x", "/healthz" })
        {
            using var r = await anonymous.GetAsync(path);
            Assert.True(r.StatusCode == HttpStatusCode.Unauthorized, $"{path} got {r.StatusCode}");
        }
    }

    [Fact]
    public void Options_parse_flags_and_environment_keys()
    {
        var o = ServerOptions.Parse(["--port", "0", "--queue-size", "8", "--api-key", "a", "--data", "/tmp/x"], v => v == ServerOptions.ApiKeysVariable ? "b, c" : null);
        Assert.Equal((0, 8, "/tmp/x"), (o.Port, o.QueueSize, o.DataDir));
        Assert.Equal(["a", "b", "c"], o.ApiKeys);
        Assert.Equal("http://127.0.0.1:0", o.ListenUrls);
        Assert.Contains("--queue-size", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--queue-size", "0"], _ => null)).Message);
        Assert.Contains("--port", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--port"], _ => null)).Message);
        Assert.Contains("--bogus", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--bogus"], _ => null)).Message);
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => ServerOptions.Parse(["--model", "/no/such/dir"], _ => null)).Message);
    }

    [Fact]
    public void Cache_names_the_engine_cache_as_build_and_generate_take_it()
    {
        Assert.Equal("/tmp/c", ServerOptions.Parse(["--cache", "/tmp/c"], _ => null).EngineCacheDir);
        Assert.Equal("/tmp/c", ServerOptions.Parse(["--cache", "/tmp/c", "--engine-cache", "/tmp/c"], _ => null).EngineCacheDir);
        Assert.Contains("--engine-cache /tmp/d and the engine cache given before it (/tmp/c) name two engine caches",
            Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--cache", "/tmp/c", "--engine-cache", "/tmp/d"], _ => null)).Message);
    }

    [Fact]
    public void Ids_are_checked_strictly()
    {
        var id = VisualGen.Server.Jobs.JobId.New("video_");
        Assert.True(VisualGen.Server.Jobs.JobId.IsValid(id, "video_"));
        Assert.NotEqual(id, VisualGen.Server.Jobs.JobId.New("video_"));
        foreach (var bad in new[] { "", "video_", id + "0", id[..^1], id.ToUpperInvariant(), id.Replace("video_", "video-"), "video_../../../../etc/passwd0000000", id[..^1] + "/" })
            Assert.False(VisualGen.Server.Jobs.JobId.IsValid(bad, "video_"), bad);
    }
}
