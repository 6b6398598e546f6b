using System.ClientModel;
using OpenAI;
using OpenAI.Images;
using VisualGen.Server.Media;

namespace VisualGen.Tests.Server;

/// <summary>/v1/images/generations driven by the official OpenAI .NET client, and over plain HTTP.</summary>
public sealed class ImageTests
{
    static ImageClient Client(LiveServer server, string model, string key = "unused") =>
        new(model, new ApiKeyCredential(key), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });

    static byte[] ExpectedRgb(long seed, int h, int w)
    {
        var rgb = new byte[h * w * 3];
        Rgb8.Convert(GradientPipeline.Pixels(seed, 1, h, w), rgb);
        return rgb;
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
