using VisualGen.Tests.Media;
using System.Net;
using System.Text.Json;
using VisualGen.Media;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// Image-to-video jobs over HTTP against the deterministic gradient pipeline (which returns 1 - image): the
/// input_reference part reaches the pipeline, is stored with the job, survives a restart and leaves with the job.
/// </summary>
public sealed class ImageToVideoJobTests
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>A 48x32 image and its PNG.</summary>
    internal static (byte[] Rgb, byte[] Png) SmoothImage(int w = 48, int h = 32)
    {
        var rgb = new byte[h * w * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int c = 0; c < 3; c++)
                    rgb[(y * w + x) * 3 + c] = (byte)(30 + 3 * x + 2 * y + 40 * c);
        return (rgb, PngWriter.Encode(new RgbImage(w, h, rgb)));
    }

    internal static MultipartFormDataContent Form(byte[]? image, string fileName = "first.png", string part = "input_reference", params (string Name, string Value)[] fields)
    {
        var form = new MultipartFormDataContent();
        foreach (var (name, value) in fields) form.Add(new StringContent(value), name);
        if (image is not null) form.Add(new ByteArrayContent(image), part, fileName);
        return form;
    }

    static async Task<(int Status, JsonElement Body)> PostForm(HttpClient http, MultipartFormDataContent form)
    {
        using var r = await http.PostAsync("/v1/videos", form);
        return ((int)r.StatusCode, await HttpJson.ReadAsync(r));
    }

    static (string, string)[] Fields(int seed) =>
        [("prompt", "invert the picture"), ("model", "gradient-video"), ("size", "48x32"), ("num_frames", "5"), ("num_inference_steps", "2"), ("seed", seed.ToString())];

    /// <summary>
    /// The job's MP4 decoded, and the MP4 the server's encoder makes of what the pipeline must have returned (every
    /// frame 1 - input) decoded the same way: equal only when the stored image reached the pipeline.
    /// </summary>
    static async Task AssertFramesAreTheInvertedInput(HttpClient http, string id, byte[] input, int w = 48, int h = 32, int frames = 5)
    {
        string dir = Fixtures.TempDir("vg-mp4"), served = Path.Combine(dir, "served.mp4"), expected = Path.Combine(dir, "expected.mp4");
        await File.WriteAllBytesAsync(served, await http.GetByteArrayAsync($"/v1/videos/{id}/content"));
        var floats = new float[frames * input.Length];
        for (int i = 0; i < floats.Length; i++) floats[i] = 1f - input[i % input.Length] / 255f;
        await new VisualGen.Server.Media.LibraryMediaEncoder().WriteMp4Async(VisualGen.Tensors.HostTensor.Float32(floats, frames, h, w, 3), 16, expected, default);
        byte[] got = MediaProbe.Mp4Frames(served), want = MediaProbe.Mp4Frames(expected);
        Assert.Equal(frames * input.Length, got.Length);
        Assert.True(want.AsSpan().SequenceEqual(got), "the served video's frames differ from the inverted input's");
    }

    [VisualGen.Tests.Media.FfmpegFact]
    public async Task Jpeg_input_reference_is_decoded_through_ffmpeg_and_stored_as_png()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(acceptsImage: true));
        var (_, png) = SmoothImage();
        byte[] jpeg = VisualGen.Tests.Media.ImageReaderTests.JpegOf(png, "-q:v", "2");
        using var form = Form(jpeg, "photo.jpg", fields: Fields(5));
        var (status, created) = await PostForm(server.Http, form);
        Assert.True(status == 200, created.ToString());
        string id = created.GetProperty("id").GetString()!;
        // stored as the PNG of what was decoded, so a restart decodes the same pixels without ffmpeg
        byte[] stored = await File.ReadAllBytesAsync(Path.Combine(server.Options.DataDir, "inputs", id + ".png"));
        Assert.True(ImageReader.IsPng(stored));
        var decoded = ImageReader.Decode(jpeg, "photo.jpg");
        Assert.Equal(decoded.Pixels, PngReader.Decode(stored).Pixels);
        Assert.Equal("completed", (await server.WaitForStatusAsync(id, Wait, "completed", "failed")).GetProperty("status").GetString());
        await AssertFramesAreTheInvertedInput(server.Http, id, decoded.Pixels);
    }

    [FfmpegFact]
    public async Task Input_reference_reaches_the_pipeline_is_stored_and_leaves_with_the_job()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(acceptsImage: true));
        var (rgb, png) = SmoothImage();
        using var form = Form(png, fields: Fields(3));
        var (status, created) = await PostForm(server.Http, form);
        Assert.True(status == 200, created.ToString());
        string id = created.GetProperty("id").GetString()!;
        string stored = Path.Combine(server.Options.DataDir, "inputs", id + ".png");
        Assert.Equal(png, await File.ReadAllBytesAsync(stored));
        Assert.Equal("completed", (await server.WaitForStatusAsync(id, Wait, "completed", "failed")).GetProperty("status").GetString());
        await AssertFramesAreTheInvertedInput(server.Http, id, rgb);
        Assert.True(File.Exists(stored), "the input image is kept until the job is deleted");

        using var del = await server.Http.DeleteAsync($"/v1/videos/{id}");
        Assert.Equal(HttpStatusCode.OK, del.StatusCode);
        Assert.False(File.Exists(stored));
    }

    [FfmpegFact]
    public async Task Restart_keeps_the_input_reference_of_a_queued_job_and_of_one_stopped_past_the_grace_period()
    {
        var options = new VisualGen.Server.Hosting.ServerOptions { DataDir = Fixtures.TempDir("vg-server"), QueueSize = 4, ShutdownGrace = TimeSpan.FromSeconds(0.2) };
        var (rgb, png) = SmoothImage();
        string running, queued;
        var gate = new PipelineGate(open: false);
        await using (var first = await LiveServer.StartAsync(new GradientPipeline(gate: gate, acceptsImage: true), options))
        {
            using (var f = Form(png, fields: Fields(1))) running = (await PostForm(first.Http, f)).Body.GetProperty("id").GetString()!;
            await first.WaitForStatusAsync(running, Wait, "in_progress");
            using (var f = Form(png, fields: Fields(2))) queued = (await PostForm(first.Http, f)).Body.GetProperty("id").GetString()!;
            Assert.Equal("queued", (await first.GetJsonAsync($"/v1/videos/{queued}")).Body.GetProperty("status").GetString());
        } // stopped: the running job outlasts the grace period and is stored as queued again, with the queued one

        Assert.True(File.Exists(Path.Combine(options.DataDir, "inputs", running + ".png")));
        Assert.True(File.Exists(Path.Combine(options.DataDir, "inputs", queued + ".png")));
        await using var restarted = await LiveServer.StartAsync(new GradientPipeline(acceptsImage: true), options);
        foreach (var id in new[] { running, queued })
        {
            Assert.Equal("completed", (await restarted.WaitForStatusAsync(id, Wait, "completed", "failed")).GetProperty("status").GetString());
            await AssertFramesAreTheInvertedInput(restarted.Http, id, rgb);
        }

        // a finished job's image stays until it is deleted, like its record
        string input = Path.Combine(options.DataDir, "inputs", running + ".png");
        Assert.True(File.Exists(input));
        Assert.Equal(200, (int)(await restarted.Http.DeleteAsync($"/v1/videos/{running}")).StatusCode);
        Assert.False(File.Exists(input));
    }

    [FfmpegFact]
    public async Task Input_image_without_a_job_is_removed_at_start_and_a_missing_one_fails_the_job()
    {
        var options = new VisualGen.Server.Hosting.ServerOptions { DataDir = Fixtures.TempDir("vg-server") };
        var (_, png) = SmoothImage();
        string inputs = Path.Combine(options.DataDir, "inputs");
        Directory.CreateDirectory(inputs);
        string orphan = Path.Combine(inputs, VisualGen.Server.Jobs.JobId.New(VisualGen.Server.Jobs.JobId.VideoPrefix) + ".png");
        await File.WriteAllBytesAsync(orphan, png); // the process ended between writing the image and the job
        await File.WriteAllBytesAsync(Path.Combine(inputs, "video_x.0123.tmp"), png);

        var gate = new PipelineGate(open: false);
        await using var server = await LiveServer.StartAsync(new GradientPipeline(gate: gate, acceptsImage: true), options);
        Assert.Empty(Directory.EnumerateFiles(inputs));

        string busy, id;
        using (var f = Form(png, fields: Fields(1))) busy = (await PostForm(server.Http, f)).Body.GetProperty("id").GetString()!;
        await server.WaitForStatusAsync(busy, Wait, "in_progress");
        using (var f = Form(png, fields: Fields(2))) id = (await PostForm(server.Http, f)).Body.GetProperty("id").GetString()!;
        File.Delete(Path.Combine(inputs, id + ".png")); // lost behind the server's back
        gate.Open();
        var failed = await server.WaitForStatusAsync(id, Wait, "completed", "failed");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Equal("input_reference_missing", failed.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task Bad_input_references_are_400_naming_the_parameter_and_store_nothing()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(acceptsImage: true));
        var (_, png) = SmoothImage();
        var cases = new (string What, Func<HttpContent> Body, string Code, string Param, string? Says)[]
        {
            ("jpeg", () => Form([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F'], "photo.jpg", fields: Fields(0)),
                "invalid_value", "input_reference", "upload 'photo.jpg': a JPEG file"),
            ("garbage", () => Form("hello, not an image"u8.ToArray(), "x.gif", fields: Fields(0)), "invalid_value", "input_reference", "not a PNG file"),
            // a GIF signature is followed by the size it declares ("no" "t " here: 28192x29807), refused before decoding
            ("gif header", () => Form("GIF89a not a png"u8.ToArray(), "x.gif", fields: Fields(0)), "invalid_value", "input_reference", "declares 28192x29807 pixels"),
            ("truncated png", () => Form(png[..40], fields: Fields(0)), "invalid_value", "input_reference", "could not be read as an image"),
            ("empty", () => Form([], fields: Fields(0)), "invalid_value", "input_reference", "empty file"),
            ("json string", () => LiveServer.JsonBody(new { prompt = "x", input_reference = "https://example.com/a.png" }),
                "invalid_value", "input_reference", "file part"),
            ("text field", () => Form(null, fields: [("prompt", "x"), ("input_reference", "a.png")]), "invalid_value", "input_reference", "file part"),
            ("other file part", () => Form(png, part: "image", fields: Fields(0)), "unsupported_parameter", "image", "input_reference"),
        };
        foreach (var (what, body, code, param, says) in cases)
        {
            using var content = body();
            using var r = await server.Http.PostAsync("/v1/videos", content);
            var error = await HttpJson.ReadAsync(r);
            Assert.True(r.StatusCode == HttpStatusCode.BadRequest, $"{what}: {(int)r.StatusCode} {error}");
            LiveServer.AssertError(error, code, param);
            if (says is not null) Assert.Contains(says, error.GetProperty("error").GetProperty("message").GetString());
        }
        using (var two = Form(png, fields: Fields(0)))
        {
            two.Add(new ByteArrayContent(png), "input_reference", "second.png");
            var (status, error) = await PostForm(server.Http, two);
            Assert.Equal(400, status);
            LiveServer.AssertError(error, "invalid_value", "input_reference");
        }
        Assert.Equal(0, (await server.GetJsonAsync("/v1/videos")).Body.GetProperty("data").GetArrayLength());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(server.Options.DataDir, "inputs")));
    }

    [Fact]
    public async Task Input_reference_for_a_model_without_image_input_is_400_unsupported_parameter()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var (_, png) = SmoothImage();
        using var form = Form(png, fields: Fields(0));
        var (status, error) = await PostForm(server.Http, form);
        Assert.Equal(400, status);
        LiveServer.AssertError(error, "unsupported_parameter", "input_reference");
        Assert.Equal("The model 'gradient-video' does not take an input reference image.", error.GetProperty("error").GetProperty("message").GetString());
    }
}
