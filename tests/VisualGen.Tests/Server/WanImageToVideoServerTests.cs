using System.Net;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Server.Hosting;
using VisualGen.Server.Media;
using VisualGen.Tensors;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// Image-to-video on the real model: the server loads the tiny conformance Wan 2.1 I2V checkpoint and takes the
/// fixture's image.png as input_reference; videos are checked against the library's pipeline with the same image and seed.
/// </summary>
public sealed class WanImageToVideoServerTests
{
    const string Family = "wan21_i2v";
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    static string Checkpoint => Fixtures.Checkpoint(Family);
    static string ImagePath => Path.Combine(Fixtures.Family(Family), "image.png");

    static ServerOptions Options(int queueSize = 16) => WanServer.Options(queueSize) with { ModelDir = Checkpoint };

    /// <summary>The library's pipeline on the same checkpoint with the image read as the CLI's --image reads it.</summary>
    static GenerationResult Generate(GenerationRequest request)
    {
        var rgb = PngReader.Read(ImagePath);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Checkpoint, provider);
        return pipeline.GenerateAsync(request with { Image = HostTensor.Float32(rgb.ToFloat(), rgb.Height, rgb.Width, 3) }).GetAwaiter().GetResult();
    }

    static (string, string)[] Fields(string prompt, long seed, int steps = 4, int frames = 9) =>
        [("model", WanServer.ModelId), ("prompt", prompt), ("size", "48x32"), ("num_frames", frames.ToString()), ("num_inference_steps", steps.ToString()), ("seed", seed.ToString())];

    static async Task<(int Status, System.Text.Json.JsonElement Body)> Post(HttpClient http, HttpContent content)
    {
        using var r = await http.PostAsync("/v1/videos", content);
        return ((int)r.StatusCode, await HttpJson.ReadAsync(r));
    }

    /// <summary>The served MP4 against the library's output written by the server's encoder: same bytes, same decoded frames.</summary>
    static async Task AssertVideoIsTheLibraryRun(HttpClient http, string id, GenerationRequest request)
    {
        string dir = Fixtures.TempDir("vg-mp4"), served = Path.Combine(dir, "served.mp4"), expected = Path.Combine(dir, "library.mp4");
        byte[] mp4 = await http.GetByteArrayAsync($"/v1/videos/{id}/content");
        await File.WriteAllBytesAsync(served, mp4);
        var reference = Generate(request);
        var s = reference.Output.Shape;
        Assert.Equal([1, request.NumFrames!.Value, request.Height!.Value, request.Width!.Value, 3], s);
        await new LibraryMediaEncoder().WriteMp4Async(reference.Output.Reshape(s[1], s[2], s[3], s[4]), 16, expected, default);
        Assert.Equal((request.NumFrames.Value, request.Width.Value, request.Height.Value, "h264"), MediaProbe.Mp4(served));
        byte[] got = MediaProbe.Mp4Frames(served), want = MediaProbe.Mp4Frames(expected);
        Assert.True(want.AsSpan().SequenceEqual(got), "the served video's decoded frames differ from the library run's");
        Assert.True(got.Distinct().Count() > 16, "the video is (nearly) flat");
        Assert.Equal(await File.ReadAllBytesAsync(expected), mp4);
    }

    [ConformanceFfmpegFact]
    public async Task I2v_job_with_input_reference_equals_the_library_run_with_the_same_image_and_seed()
    {
        await using var server = await LiveServer.StartAsync(WanServer.Load, Options());
        var (_, models) = await server.GetJsonAsync("/v1/models");
        var m = models.GetProperty("data")[0];
        Assert.True(m.GetProperty("accepts_image").GetBoolean());
        Assert.True(m.GetProperty("requires_image").GetBoolean());
        Assert.Equal(1, m.GetProperty("max_images").GetInt32());
        Assert.Equal(["negative_prompt", "num_frames", "guidance_scale", "max_sequence_length", "input_reference"],
            m.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()));

        byte[] png = await File.ReadAllBytesAsync(ImagePath);
        // 48x32 from the fixture's 32x32 image: the pipeline resizes it to the requested size, as with the CLI's --image
        using var form = ImageToVideoJobTests.Form(png, fields: Fields("an astronaut waves", seed: 21));
        var (status, created) = await Post(server.Http, form);
        Assert.True(status == 200, created.ToString());
        string id = created.GetProperty("id").GetString()!;
        string stored = Path.Combine(server.Options.DataDir, "inputs", id + ".png");
        Assert.Equal(png, await File.ReadAllBytesAsync(stored));
        var done = await server.WaitForStatusAsync(id, Wait, "completed", "failed");
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());

        await AssertVideoIsTheLibraryRun(server.Http, id,
            new GenerationRequest { Prompt = "an astronaut waves", Height = 32, Width = 48, NumFrames = 9, NumInferenceSteps = 4, Seed = 21 });

        using var del = await server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.False(File.Exists(stored));
        Assert.False(File.Exists(Path.Combine(server.Options.DataDir, "videos", id + ".mp4")));
    }

    [ConformanceFfmpegFact]
    public async Task Killed_server_keeps_the_input_reference_of_a_queued_i2v_job()
    {
        var options = Options(queueSize: 4);
        byte[] png = await File.ReadAllBytesAsync(ImagePath);
        string running, queued;
        using (var first = await ServerProcess.StartAsync(options))
        {
            using (var f = ImageToVideoJobTests.Form(png, fields: Fields("running when killed", seed: 1, steps: 200, frames: 33)))
                running = (await Post(first.Http, f)).Body.GetProperty("id").GetString()!;
            await HttpJson.WaitForStatusAsync(first.Http, running, Wait, "in_progress");
            using (var f = ImageToVideoJobTests.Form(png, fields: Fields("queued when killed", seed: 33)))
                queued = (await Post(first.Http, f)).Body.GetProperty("id").GetString()!;
            Assert.Equal("queued", (await HttpJson.GetAsync(first.Http, $"/v1/videos/{queued}")).Body.GetProperty("status").GetString());
            first.Kill();
        }
        Assert.Equal(png, await File.ReadAllBytesAsync(Path.Combine(options.DataDir, "inputs", queued + ".png")));

        using var second = await ServerProcess.StartAsync(options);
        var r = (await HttpJson.GetAsync(second.Http, $"/v1/videos/{running}")).Body;
        Assert.Equal("server_restarted", r.GetProperty("error").GetProperty("code").GetString());
        var done = await HttpJson.WaitForStatusAsync(second.Http, queued, Wait, "completed", "failed");
        Assert.True(done.GetProperty("status").GetString() == "completed", done.ToString());
        await AssertVideoIsTheLibraryRun(second.Http, queued,
            new GenerationRequest { Prompt = "queued when killed", Height = 32, Width = 48, NumFrames = 9, NumInferenceSteps = 4, Seed = 33 });
    }

    [ConformanceFact]
    public async Task I2v_model_refuses_missing_or_unreadable_input_reference_before_queueing()
    {
        await using var server = await LiveServer.StartAsync(WanServer.Load, Options());
        byte[] png = await File.ReadAllBytesAsync(ImagePath);

        using (var noImage = ImageToVideoJobTests.Form(null, fields: Fields("x", 1)))
        {
            var (status, error) = await Post(server.Http, noImage);
            Assert.Equal(400, status);
            LiveServer.AssertError(error, "missing_required_parameter", "input_reference");
            Assert.StartsWith("Missing required parameter: 'input_reference'.", error.GetProperty("error").GetProperty("message").GetString());
        }
        var (jsonStatus, jsonError) = await server.PostJsonAsync("/v1/videos", new { prompt = "x", size = "48x32", num_frames = 9 });
        Assert.Equal(400, jsonStatus);
        LiveServer.AssertError(jsonError, "missing_required_parameter", "input_reference");

        var jpeg = new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0 };
        foreach (var (bytes, name, says) in new[] { (jpeg, "photo.jpg", "upload 'photo.jpg': a JPEG file"),
                     ("\0garbage\x7f bytes"u8.ToArray(), "x.bin", "upload 'x.bin': not a PNG file"), (png[..(png.Length - 20)], "cut.png", "upload 'cut.png'") })
        {
            using var form = ImageToVideoJobTests.Form(bytes, name, fields: Fields("x", 1));
            var (status, error) = await Post(server.Http, form);
            Assert.Equal(400, status);
            LiveServer.AssertError(error, "invalid_value", "input_reference");
            Assert.Contains(says, error.GetProperty("error").GetProperty("message").GetString());
        }
        Assert.Equal(0, (await server.GetJsonAsync("/v1/videos")).Body.GetProperty("data").GetArrayLength());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.Options.DataDir, "inputs")));
    }

    [ConformanceFact]
    public async Task I2v_model_answers_image_generations_with_unsupported_model_pointing_to_the_endpoints_that_take_its_image()
    {
        // /v1/images/generations has no image field: the pipeline's own refusal named the CLI's --image and param "image"
        await using var server = await LiveServer.StartAsync(WanServer.Load, Options());
        var (status, error) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "x", size = "48x32", num_inference_steps = 1 });
        Assert.Equal(400, status);
        LiveServer.AssertError(error, "unsupported_model", "model");
        string message = error.GetProperty("error").GetProperty("message").GetString()!;
        Assert.DoesNotContain("--image", message);
        Assert.Contains("/v1/images/edits", message);
        Assert.Contains("'input_reference'", message);
    }

    [ConformanceFact]
    public async Task Text_to_video_model_refuses_input_reference()
    {
        await using var server = await WanServer.StartAsync();
        byte[] png = await File.ReadAllBytesAsync(ImagePath);
        using var form = ImageToVideoJobTests.Form(png, fields: Fields("x", 1));
        var (status, error) = await Post(server.Http, form);
        Assert.Equal(400, status);
        LiveServer.AssertError(error, "unsupported_parameter", "input_reference");
        Assert.Equal($"The model '{WanServer.ModelId}' does not take an input reference image.", error.GetProperty("error").GetProperty("message").GetString());
        var (_, models) = await server.GetJsonAsync("/v1/models");
        Assert.False(models.GetProperty("data")[0].GetProperty("requires_image").GetBoolean());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.Options.DataDir, "inputs")));
    }
}
