using System.ClientModel;
using OpenAI;
using OpenAI.Images;

namespace VisualGen.Tests.Server;

/// <summary>/v1/images/generations driven by the official OpenAI .NET client, and over plain HTTP.</summary>
public sealed class ImageTests
{
    static ImageClient Client(LiveServer server, string model, string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });

    static byte[] ExpectedRgb(long seed, int h, int w)
    {
        return GradientPipeline.To8Bit(GradientPipeline.Pixels(seed, 1, h, w));
    }

    [Fact]
    public async Task OpenAI_client_gets_a_png_of_the_generated_image()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false));
        var client = Client(server, "gradient-image");
        // the client has no seed option: the server draws one and reports it in our "seed" extension of each data item
        var result = await client.GenerateImageAsync("a gradient",
            new ImageGenerationOptions { Size = new GeneratedImageSize(64, 32), ResponseFormat = GeneratedImageFormat.Bytes });
        GeneratedImage image = result.Value;
        long seed = System.Text.Json.JsonDocument.Parse(result.GetRawResponse().Content.ToString())
            .RootElement.GetProperty("data")[0].GetProperty("seed").GetInt64();
        var (w, h, rgb) = MediaProbe.Png(image.ImageBytes.ToArray());
        Assert.Equal((64, 32), (w, h));
        Assert.Equal(ExpectedRgb(seed, h, w), rgb);
    }

    [Fact]
    public async Task Video_model_answers_images_with_the_single_frame_of_a_one_frame_generation()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline());
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { model = "gradient-video", prompt = "one frame", size = "48x32", seed = 4, n = 2, num_inference_steps = 1 });
        Assert.Equal(200, status);
        Assert.Equal("png", body.GetProperty("output_format").GetString());
        Assert.Equal("48x32", body.GetProperty("size").GetString());
        var data = body.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(2, data.Count);
        for (int i = 0; i < 2; i++)
        {
            var (w, h, rgb) = MediaProbe.Png(Convert.FromBase64String(data[i].GetProperty("b64_json").GetString()!));
            Assert.Equal((48, 32), (w, h));
            Assert.Equal(4 + i, data[i].GetProperty("seed").GetInt64()); // image i uses seed + i
            Assert.Equal(ExpectedRgb(4 + i, 32, 48), rgb);
        }
    }

    [Fact]
    public async Task Url_response_format_serves_the_png()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false));
        var client = Client(server, "gradient-image");
        GeneratedImage image = await client.GenerateImageAsync("by url",
            new ImageGenerationOptions { Size = new GeneratedImageSize(32, 32), ResponseFormat = GeneratedImageFormat.Uri });
        Assert.NotNull(image.ImageUri);
        Assert.StartsWith(server.BaseAddress.ToString().TrimEnd('/') + "/v1/images/img_", image.ImageUri.ToString());
        using var r = await server.Http.GetAsync(image.ImageUri);
        Assert.Equal("image/png", r.Content.Headers.ContentType?.MediaType);
        var (w, h, _) = MediaProbe.Png(await r.Content.ReadAsByteArrayAsync());
        Assert.Equal((32, 32), (w, h));
    }

    [Fact]
    public async Task Edits_send_the_uploaded_png_to_the_pipeline()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false, acceptsImage: true));
        var input = new byte[16 * 32 * 3];
        for (int i = 0; i < input.Length; i++) input[i] = (byte)(i * 7 % 256);
        byte[] png = VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(32, 16, input));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("invert it"), "prompt" },
            { new StringContent("32x16"), "size" },
            { new ByteArrayContent(png), "image", "in.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(System.Net.HttpStatusCode.OK, r.StatusCode);
        var (w, h, rgb) = MediaProbe.Png(Convert.FromBase64String(body.GetProperty("data")[0].GetProperty("b64_json").GetString()!));
        Assert.Equal((32, 16), (w, h));
        Assert.Equal(input.Select(b => (byte)(255 - b)).ToArray(), rgb); // 1 - b/255, back to 8 bits, is exactly 255 - b

        using var bad = new MultipartFormDataContent
        {
            { new StringContent("invert it"), "prompt" },
            { new ByteArrayContent("GIF89a not a png"u8.ToArray()), "image", "in.gif" },
        };
        using var r2 = await server.Http.PostAsync("/v1/images/edits", bad);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, r2.StatusCode);
        LiveServer.AssertError(await LiveServer.ReadJson(r2), "invalid_value", "image");
    }

    [Fact]
    public async Task Edits_keep_the_order_of_image_and_image_brackets_parts_as_they_arrived()
    {
        var pipeline = new GradientPipeline(producesVideo: false, acceptsImage: true, maxImages: 10);
        await using var server = await LiveServer.StartAsync(pipeline);
        // three images told apart by their width, sent under both names, interleaved
        static ByteArrayContent Png(int w) => new(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(w, 16, new byte[16 * w * 3])));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("in this order"), "prompt" },
            { new StringContent("32x16"), "size" },
            { Png(16), "image[]", "a.png" },
            { Png(32), "image", "b.png" },
            { Png(48), "image[]", "c.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        Assert.True(r.StatusCode == System.Net.HttpStatusCode.OK, (await LiveServer.ReadJson(r)).ToString());
        Assert.Equal([16, 32, 48], pipeline.LastRequest!.Images!.Select(i => i.Shape[1]));
    }

    [Fact]
    public async Task OpenAI_client_sees_an_unknown_model_as_an_error_with_our_message()
    {
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false));
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client(server, "dall-e-3").GenerateImageAsync("x"));
        Assert.Equal(404, e.Status);
        Assert.Contains("model_not_found", e.Message);
    }

    [Fact]
    public async Task OpenAI_client_with_api_key()
    {
        var options = new VisualGen.Server.Hosting.ServerOptions { DataDir = Support.Fixtures.TempDir("vg-server"), ApiKeys = ["sk-right"] };
        await using var server = await LiveServer.StartAsync(new GradientPipeline(producesVideo: false), options);
        var e = await Assert.ThrowsAsync<ClientResultException>(() => Client(server, "gradient-image", "sk-wrong").GenerateImageAsync("x"));
        Assert.Equal(401, e.Status);
        GeneratedImage ok = await Client(server, "gradient-image", "sk-right").GenerateImageAsync("x",
            new ImageGenerationOptions { Size = new GeneratedImageSize(16, 16), ResponseFormat = GeneratedImageFormat.Bytes });
        Assert.Equal((16, 16), (MediaProbe.Png(ok.ImageBytes.ToArray()).Width, MediaProbe.Png(ok.ImageBytes.ToArray()).Height));
    }
}
