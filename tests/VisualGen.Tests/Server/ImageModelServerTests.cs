using System.ClientModel;
using System.Net;
using System.Text.Json;
using OpenAI;
using OpenAI.Images;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>
/// Acceptance on the real image families: the server loads the tiny conformance FLUX.1 and Qwen-Image checkpoints
/// with its own loader and is driven over HTTP (and by the OpenAI .NET client); PNGs are checked pixel for pixel
/// against the library's pipeline with the same seed.
/// </summary>
public sealed class ImageModelServerTests
{
    static long SeedOf(JsonElement body, int index = 0) => body.GetProperty("data")[index].GetProperty("seed").GetInt64();

    static (int W, int H, byte[] Rgb) Png(JsonElement body, int index = 0) =>
        MediaProbe.Png(Convert.FromBase64String(body.GetProperty("data")[index].GetProperty("b64_json").GetString()!));

    [ConformanceFact]
    public async Task Flux_OpenAI_client_png_is_the_library_generation()
    {
        var flux = ImageModelServer.Flux;
        await using var server = await flux.StartAsync();
        var client = new ImageClient(flux.ModelId, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1") });
        var result = await client.GenerateImageAsync("a lighthouse in the fog",
            new ImageGenerationOptions { Size = new GeneratedImageSize(64, 48), ResponseFormat = GeneratedImageFormat.Bytes });
        long seed = SeedOf(JsonDocument.Parse(result.GetRawResponse().Content.ToString()).RootElement);
        var (w, h, rgb) = MediaProbe.Png(result.Value.ImageBytes.ToArray());
        Assert.Equal((64, 48), (w, h));

        // the client sends no steps or guidance: the pipeline's defaults (28 steps, guidance 3.5) on both sides
        var reference = flux.Generate(new GenerationRequest { Prompt = "a lighthouse in the fog", Height = 48, Width = 64, Seed = seed });
        Assert.Equal([1, 48, 64, 3], reference.Output.Shape);
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), rgb);
        Assert.True(rgb.Distinct().Count() > 16, "the image is (nearly) flat");
    }

    [ConformanceFact]
    public async Task Flux2_edit_takes_its_size_from_the_image_and_is_the_library_generation()
    {
        var flux2 = ImageModelServer.Flux2;
        await using var server = await flux2.StartAsync();
        var pixels = new byte[96 * 80 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 % 251);
        byte[] png = VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(80, 96, pixels));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("make it blue"), "prompt" },
            { new StringContent("2"), "num_inference_steps" },
            { new StringContent("11"), "seed" },
            { new ByteArrayContent(png), "image", "in.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        Assert.Equal("80x96", body.GetProperty("size").GetString());  // no size: the reference's, as Flux2Pipeline sizes it
        var (w, h, rgb) = Png(body);
        Assert.Equal((80, 96), (w, h));
        var image = VisualGen.Tensors.HostTensor.Float32(new VisualGen.Media.RgbImage(80, 96, pixels).ToFloat(), 96, 80, 3);
        var reference = flux2.Generate(new GenerationRequest { Prompt = "make it blue", NumInferenceSteps = 2, Seed = 11, Image = image });
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), rgb);

        // two image[] parts: FLUX.2's two reference images, in order
        var second = new byte[64 * 64 * 3];
        for (int i = 0; i < second.Length; i++) second[i] = (byte)(i * 11 % 241);
        using var two = new MultipartFormDataContent
        {
            { new StringContent("make it blue"), "prompt" },
            { new StringContent("1"), "num_inference_steps" },
            { new StringContent("12"), "seed" },
            { new ByteArrayContent(png), "image[]", "a.png" },
            { new ByteArrayContent(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(64, 64, second))), "image[]", "b.png" },
        };
        using var r2 = await server.Http.PostAsync("/v1/images/edits", two);
        var body2 = await LiveServer.ReadJson(r2);
        Assert.Equal(HttpStatusCode.OK, r2.StatusCode);
        var images = new[] { image, VisualGen.Tensors.HostTensor.Float32(new VisualGen.Media.RgbImage(64, 64, second).ToFloat(), 64, 64, 3) };
        var both = flux2.Generate(new GenerationRequest { Prompt = "make it blue", NumInferenceSteps = 1, Seed = 12, Images = images });
        Assert.Equal(GradientPipeline.To8Bit(both.Output.Floats), Png(body2).Rgb);
    }

    [ConformanceFact]
    public async Task Flux2_edit_names_the_image_part_at_fault_by_index_and_its_field_as_sent()
    {
        // FLUX.2's reference images arrive as image or image[] parts: a refusal of one of several named neither the part
        // ("reference image 3 of 3", param "image" whatever the field)
        await using var server = await ImageModelServer.Flux2.StartAsync();
        static ByteArrayContent Png(int w, int h) => new(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(w, h, new byte[w * h * 3])));
        async Task<JsonElement> Refused(params (HttpContent Content, string Name, string File)[] parts)
        {
            using var form = new MultipartFormDataContent { { new StringContent("make it blue"), "prompt" }, { new StringContent("1"), "num_inference_steps" } };
            foreach (var (content, name, file) in parts) form.Add(content, name, file);
            using var r = await server.Http.PostAsync("/v1/images/edits", form);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            return await LiveServer.ReadJson(r);
        }
        static string Message(JsonElement body) => body.GetProperty("error").GetProperty("message").GetString()!;
        const string TooSmall = "reference image too small: 48×32; both sides must be at least 64 pixels";

        var third = await Refused((Png(64, 64), "image[]", "a.png"), (Png(64, 64), "image[]", "b.png"), (Png(48, 32), "image[]", "c.png"));
        LiveServer.AssertError(third, "invalid_value", "image[]");
        Assert.Equal($"image[2]: {TooSmall}", Message(third));

        // the index counts the parts in arrival order, image and image[] alike; param is the faulty part's field
        var mixed = await Refused((Png(64, 64), "image", "a.png"), (Png(48, 32), "image[]", "b.png"));
        LiveServer.AssertError(mixed, "invalid_value", "image[]");
        Assert.Equal($"image[1]: {TooSmall}", Message(mixed));

        // a part that cannot be decoded, before the pipeline sees any
        var undecodable = await Refused((Png(64, 64), "image", "a.png"), (new ByteArrayContent("garbage"u8.ToArray()), "image", "a.png"));
        LiveServer.AssertError(undecodable, "invalid_value", "image");
        Assert.StartsWith("'image[1]' could not be read as an image: upload 'a.png':", Message(undecodable));

        // one part: its field, no index
        var one = await Refused((Png(48, 32), "image[]", "a.png"));
        LiveServer.AssertError(one, "invalid_value", "image[]");
        Assert.Equal(TooSmall, Message(one));
    }

    [ConformanceFact]
    public async Task A_mask_on_a_model_that_does_not_inpaint_is_refused_naming_mask()
    {
        // FLUX.2 takes reference images but no mask (and no strength): the refusal names the part the client sent; the
        // server's default strength of masked edits (1) was refused instead, naming a field the client never sent
        await using var server = await ImageModelServer.Flux2.StartAsync();
        using var form = new MultipartFormDataContent
        {
            { new StringContent("make it blue"), "prompt" },
            { new StringContent("1"), "num_inference_steps" },
            { new ByteArrayContent(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(64, 64, new byte[64 * 64 * 3]))), "image", "in.png" },
            { new ByteArrayContent(Media.RgbaPng.Encode(64, 64, (_, x) => (0, 0, 0, (byte)(x < 20 ? 0 : 255)))), "mask", "mask.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        LiveServer.AssertError(body, "invalid_value", "mask");
        Assert.DoesNotContain("strength", body.GetProperty("error").GetProperty("message").GetString());
    }

    [ConformanceFact]
    public async Task Flux_edit_is_image_to_image_with_its_strength_and_the_library_generation()
    {
        var flux = ImageModelServer.Flux;
        await using var server = await flux.StartAsync();
        var pixels = new byte[40 * 60 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 13 % 253);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("a lighthouse at dusk"), "prompt" },
            { new StringContent("48x32"), "size" },
            { new StringContent("3"), "num_inference_steps" },
            { new StringContent("0.5"), "strength" },
            { new StringContent("8"), "seed" },
            { new ByteArrayContent(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(60, 40, pixels))), "image", "in.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        var image = VisualGen.Tensors.HostTensor.Float32(new VisualGen.Media.RgbImage(60, 40, pixels).ToFloat(), 40, 60, 3);
        var reference = flux.Generate(new GenerationRequest
        {
            Prompt = "a lighthouse at dusk", Height = 32, Width = 48, NumInferenceSteps = 3, Strength = 0.5, Seed = 8, Image = image,
        });
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), Png(body).Rgb);
        var plain = flux.Generate(new GenerationRequest { Prompt = "a lighthouse at dusk", Height = 32, Width = 48, NumInferenceSteps = 3, Seed = 8 });
        Assert.NotEqual(GradientPipeline.To8Bit(plain.Output.Floats), Png(body).Rgb);  // the image took part
    }

    [ConformanceFact]
    public async Task Flux_edit_with_a_mask_inpaints_its_transparent_region_as_the_library_does()
    {
        var flux = ImageModelServer.Flux;
        await using var server = await flux.StartAsync();
        var pixels = new byte[40 * 60 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 13 % 253);
        // OpenAI's mask: transparent (alpha 0) where the image is edited, here its left third
        byte[] mask = Media.RgbaPng.Encode(60, 40, (_, x) => x < 20 ? ((byte)0, (byte)0, (byte)0, (byte)0) : ((byte)0, (byte)0, (byte)0, (byte)255));
        MultipartFormDataContent Form(byte[] maskPng) => new()
        {
            { new StringContent("a lighthouse at dusk"), "prompt" },
            { new StringContent("48x32"), "size" },
            { new StringContent("3"), "num_inference_steps" },
            { new StringContent("8"), "seed" },
            { new ByteArrayContent(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(60, 40, pixels))), "image", "in.png" },
            { new ByteArrayContent(maskPng), "mask", "mask.png" },
        };
        using var form = Form(mask);
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.True(r.StatusCode == HttpStatusCode.OK, body.ToString());
        var image = VisualGen.Tensors.HostTensor.Float32(new VisualGen.Media.RgbImage(60, 40, pixels).ToFloat(), 40, 60, 3);
        var white = new float[40 * 60 * 3];
        for (int p = 0; p < 40 * 60; p++) if (p % 60 < 20) white[3 * p] = white[3 * p + 1] = white[3 * p + 2] = 1f;
        var reference = flux.Generate(new GenerationRequest
        {
            Prompt = "a lighthouse at dusk", Height = 32, Width = 48, NumInferenceSteps = 3, Seed = 8, Image = image, Strength = 1.0,
            MaskImage = VisualGen.Tensors.HostTensor.Float32(white, 40, 60, 3),
        });
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), Png(body).Rgb);

        // a mask without alpha, or of another size, is a 400 naming it
        using var opaque = Form(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(60, 40, new byte[60 * 40 * 3])));
        using var r2 = await server.Http.PostAsync("/v1/images/edits", opaque);
        LiveServer.AssertError(await LiveServer.ReadJson(r2), "invalid_value", "mask");
        Assert.Equal(HttpStatusCode.BadRequest, r2.StatusCode);
        using var small = Form(Media.RgbaPng.Encode(30, 20, (_, _) => (0, 0, 0, 0)));
        using var r3 = await server.Http.PostAsync("/v1/images/edits", small);
        var body3 = await LiveServer.ReadJson(r3);
        LiveServer.AssertError(body3, "invalid_value", "mask");
        Assert.Contains("it must be the size of the image, 60x40", body3.GetProperty("error").GetProperty("message").GetString());
    }

    [ConformanceFact]
    public async Task A_fill_model_takes_edits_with_a_mask_and_points_generations_there()
    {
        var options = WanServer.Options() with { ModelDir = Pipelines.FluxFillTests.FillCheckpoint() };
        await using var server = await LiveServer.StartAsync(WanServer.Load, options);
        var (status, refused) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "a lighthouse", size = "48x32" });
        Assert.Equal(400, status);
        LiveServer.AssertError(refused, "unsupported_model", "model");
        Assert.Contains("use /v1/images/edits with an 'image' and a 'mask'", refused.GetProperty("error").GetProperty("message").GetString());

        var pixels = new byte[32 * 48 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 7 % 251);
        using var form = new MultipartFormDataContent
        {
            { new StringContent("a lighthouse"), "prompt" },
            { new StringContent("48x32"), "size" },
            { new StringContent("2"), "num_inference_steps" },
            { new ByteArrayContent(VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(48, 32, pixels))), "image", "in.png" },
            { new ByteArrayContent(Media.RgbaPng.Encode(48, 32, (_, x) => (0, 0, 0, (byte)(x < 20 ? 0 : 255)))), "mask", "mask.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        var body = await LiveServer.ReadJson(r);
        Assert.True(r.StatusCode == HttpStatusCode.OK, body.ToString());
        Assert.Equal((48, 32), (Png(body).W, Png(body).H));
    }

    [ConformanceFact]
    public async Task Flux_extensions_reach_the_pipeline()
    {
        var flux = ImageModelServer.Flux;
        await using var server = await flux.StartAsync();
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "a lighthouse", size = "48x32", num_inference_steps = 2, guidance_scale = 1.5, seed = 5, n = 2 });
        Assert.Equal(200, status);
        Assert.Equal("48x32", body.GetProperty("size").GetString());
        for (int i = 0; i < 2; i++)
        {
            var (w, h, rgb) = Png(body, i);
            Assert.Equal((48, 32), (w, h));
            Assert.Equal(5 + i, SeedOf(body, i));
            var reference = flux.Generate(new GenerationRequest { Prompt = "a lighthouse", Height = 32, Width = 48, NumInferenceSteps = 2, GuidanceScale = 1.5, Seed = 5 + i });
            Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), rgb);
        }
        // guidance 1.5 is not FLUX's default 3.5: had the server dropped it the PNG would be the default one
        var byDefault = flux.Generate(new GenerationRequest { Prompt = "a lighthouse", Height = 32, Width = 48, NumInferenceSteps = 2, Seed = 5 });
        Assert.NotEqual(GradientPipeline.To8Bit(byDefault.Output.Floats), Png(body).Rgb);

        // FLUX.1's scheduler shifts by the image size: a shift would be ignored, so it is refused by name
        var (shiftStatus, shifted) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "a lighthouse", size = "48x32", shift = 3.0 });
        Assert.Equal(400, shiftStatus);
        LiveServer.AssertError(shifted, "invalid_value", "shift");
    }

    [ConformanceFact]
    public async Task QwenImage_true_cfg_scale_and_negative_prompt_reach_the_pipeline()
    {
        var qwen = ImageModelServer.QwenImage;
        await using var server = await qwen.StartAsync();
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { model = qwen.ModelId, prompt = "a hummingbird", negative_prompt = "blurry, dark", true_cfg_scale = 2.5, size = "48x64", num_inference_steps = 2, seed = 7 });
        Assert.Equal(200, status);
        var (w, h, rgb) = Png(body);
        Assert.Equal((48, 64), (w, h));
        Assert.Equal(7, SeedOf(body));

        var asked = new GenerationRequest { Prompt = "a hummingbird", NegativePrompt = "blurry, dark", TrueCfgScale = 2.5, Height = 64, Width = 48, NumInferenceSteps = 2, Seed = 7 };
        var reference = qwen.Generate(asked);
        Assert.Equal([1, 64, 48, 3], reference.Output.Shape);
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), rgb);
        Assert.True(rgb.Distinct().Count() > 16, "the image is (nearly) flat");

        // each extension changes the image, so a server that dropped one could not pass the equality above
        Assert.NotEqual(GradientPipeline.To8Bit(qwen.Generate(asked with { TrueCfgScale = null }).Output.Floats), rgb); // default 4.0
        Assert.NotEqual(GradientPipeline.To8Bit(qwen.Generate(asked with { NegativePrompt = null }).Output.Floats), rgb); // no true CFG

        // without guidance fields the request runs (the server adds no guidance_scale of its own). 2 steps, not 1:
        // with the scheduler's shift_terminal, one step is 0/0 in stretch_shift_to_terminal (NaN, as in diffusers)
        var (s2, plain) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "a hummingbird", size = "32x32", num_inference_steps = 2, seed = 3 });
        Assert.Equal(200, s2);
        var plainRef = qwen.Generate(new GenerationRequest { Prompt = "a hummingbird", Height = 32, Width = 32, NumInferenceSteps = 2, Seed = 3 });
        Assert.Equal(GradientPipeline.To8Bit(plainRef.Output.Floats), Png(plain).Rgb);
    }

    [ConformanceFact]
    public async Task Flux_teacache_thresh_reaches_the_pipeline()
    {
        var flux = ImageModelServer.Flux;
        await using var server = await flux.StartAsync();
        // a threshold the accumulator never reaches: every step but the first and the last reuses the cached residual
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { model = flux.ModelId, prompt = "a lighthouse", size = "48x32", num_inference_steps = 4, seed = 2, teacache_thresh = 1e6 });
        Assert.Equal(200, status);
        var asked = new GenerationRequest { Prompt = "a lighthouse", Height = 32, Width = 48, NumInferenceSteps = 4, Seed = 2, TeaCache = new TeaCacheOptions(1e6) };
        var reference = flux.Generate(asked);
        Assert.Equal(GradientPipeline.To8Bit(reference.Output.Floats), Png(body).Rgb);
        Assert.NotEqual(GradientPipeline.To8Bit(flux.Generate(asked with { TeaCache = null }).Output.Floats), Png(body).Rgb);

        var (s2, e2) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "x", size = "48x32", teacache_thresh = -1 });
        Assert.Equal(400, s2);
        LiveServer.AssertError(e2, "invalid_value", "teacache_thresh");
    }

    [ConformanceFact]
    public async Task Flux2_teacache_thresh_without_a_shipped_table_names_the_field_the_request_sent()
    {
        // FLUX.2 has no TeaCache table; the refusal named teacache_coefficients, a field this server answers as unknown
        await using var server = await ImageModelServer.Flux2.StartAsync();
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "a village", size = "48x64", num_inference_steps = 2, teacache_thresh = 0.2 });
        Assert.Equal(400, status);
        LiveServer.AssertError(body, "invalid_value", "teacache_thresh");
        string message = body.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("no shipped TeaCache coefficients", message);
        Assert.Contains("--config cache_config", message);
    }

    [ConformanceFact]
    public async Task QwenImage_refuses_guidance_scale_naming_true_cfg_scale()
    {
        await using var server = await ImageModelServer.QwenImage.StartAsync();
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "a hummingbird", size = "32x32", num_inference_steps = 1, guidance_scale = 3.5 });
        Assert.Equal(400, status);
        LiveServer.AssertError(body, "invalid_value", "guidance_scale");
        Assert.Contains("true_cfg_scale", body.GetProperty("error").GetProperty("message").GetString());

        var (s2, e2) = await server.PostJsonAsync("/v1/images/generations", new { prompt = "x", size = "32x32", true_cfg_scale = -1 });
        Assert.Equal(400, s2);
        LiveServer.AssertError(e2, "invalid_value", "true_cfg_scale");
    }

    [ConformanceFact]
    public async Task Videos_on_an_image_model_are_400_unsupported_model()
    {
        foreach (var family in new[] { ImageModelServer.Flux, ImageModelServer.QwenImage })
        {
            await using var server = await family.StartAsync();
            foreach (var route in new[] { "/v1/videos", "/v1/videos/generations" })
            {
                var (status, body) = await server.PostJsonAsync(route, new { model = family.ModelId, prompt = "a video", size = "48x32", seconds = "1" });
                Assert.Equal(400, status);
                LiveServer.AssertError(body, "unsupported_model", "model");
                Assert.Equal($"The model '{family.ModelId}' produces images; use /v1/images/generations.", body.GetProperty("error").GetProperty("message").GetString());
            }
            Assert.Empty((await server.GetJsonAsync("/v1/videos")).Body.GetProperty("data").EnumerateArray());
        }
    }

    [ConformanceFact]
    public async Task Edits_on_a_text_to_image_model_are_400_unsupported_model()
    {
        byte[] png = VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(32, 16, new byte[16 * 32 * 3]));
        // FLUX.1 and Qwen-Image take an edit as image-to-image: a text-to-video model takes no image at all
        foreach (var family in new[] { new ImageModelServer("wan21_t2v", "wan") })
        {
            await using var server = await family.StartAsync();
            using var form = new MultipartFormDataContent
            {
                { new StringContent("make it red"), "prompt" },
                { new StringContent(family.ModelId), "model" },
                { new ByteArrayContent(png), "image", "in.png" },
            };
            using var r = await server.Http.PostAsync("/v1/images/edits", form);
            Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
            var body = await LiveServer.ReadJson(r);
            LiveServer.AssertError(body, "unsupported_model", "model");
            Assert.Equal($"The model '{family.ModelId}' does not take an input image; use /v1/images/generations.", body.GetProperty("error").GetProperty("message").GetString());
        }
    }

    [ConformanceFact]
    public async Task Cosmos3_edit_is_pointed_to_videos_input_reference_its_image_only_starts_a_video()
    {
        // Cosmos3 takes an image only as a video's first frame, and an edit is a one-frame generation: the pipeline's own
        // refusal ("give num_frames > 1") named a field the edits endpoint refuses, so no edit could ever succeed
        var cosmos3 = new ImageModelServer("cosmos3_i2v", "cosmos3");
        await using var server = await cosmos3.StartAsync();
        byte[] png = VisualGen.Media.PngWriter.Encode(new VisualGen.Media.RgbImage(64, 64, new byte[64 * 64 * 3]));
        using var form = new MultipartFormDataContent
        {
            { new StringContent("the scene comes alive"), "prompt" },
            { new StringContent("1"), "num_inference_steps" },
            { new ByteArrayContent(png), "image", "in.png" },
        };
        using var r = await server.Http.PostAsync("/v1/images/edits", form);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        var body = await LiveServer.ReadJson(r);
        LiveServer.AssertError(body, "unsupported_model", "model");
        Assert.Equal("The model 'cosmos3' takes an input image only as the first frame of a video; use /v1/videos with an 'input_reference'.",
            body.GetProperty("error").GetProperty("message").GetString());

        // the model object: it takes one image, which a video model's arguments name input_reference (/v1/videos' field)
        var m = (await server.GetJsonAsync("/v1/models")).Body.GetProperty("data")[0];
        Assert.True(m.GetProperty("produces_video").GetBoolean());
        Assert.True(m.GetProperty("accepts_image").GetBoolean());
        Assert.False(m.GetProperty("requires_image").GetBoolean());
        Assert.Equal(1, m.GetProperty("max_images").GetInt32());
        var arguments = m.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()).ToList();
        Assert.Contains("input_reference", arguments);
        Assert.DoesNotContain("image", arguments);
    }

    [ConformanceFact]
    public async Task Models_list_says_the_model_makes_images()
    {
        foreach (var family in new[] { ImageModelServer.Flux, ImageModelServer.QwenImage })
        {
            await using var server = await family.StartAsync();
            var (status, list) = await server.GetJsonAsync("/v1/models");
            Assert.Equal(200, status);
            Assert.Equal("list", list.GetProperty("object").GetString());
            var m = Assert.Single(list.GetProperty("data").EnumerateArray());
            Assert.Equal(family.ModelId, m.GetProperty("id").GetString());
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.Equal("visualgen", m.GetProperty("owned_by").GetString());
            Assert.Equal(family.ModelId, m.GetProperty("family").GetString());
            Assert.False(m.GetProperty("produces_video").GetBoolean());
            // FLUX.1 and Qwen-Image: image-to-image through /v1/images/edits
            Assert.True(m.GetProperty("accepts_image").GetBoolean());
            Assert.Equal(1, m.GetProperty("max_images").GetInt32());
            // the fields only some models take: FLUX.1 and Qwen-Image share these
            var arguments = m.GetProperty("arguments").EnumerateArray().Select(a => a.GetString()).ToList();
            Assert.Subset(new HashSet<string?>(arguments), new HashSet<string?> { "negative_prompt", "true_cfg_scale", "image", "strength", "mask" });
            Assert.DoesNotContain("guidance_scale_2", arguments);
            Assert.Equal(16, m.GetProperty("size_multiple").GetInt32());
            Assert.Equal(1, m.GetProperty("default_num_frames").GetInt32());
            var (s2, one) = await server.GetJsonAsync($"/v1/models/{family.ModelId}");
            Assert.Equal(200, s2);
            Assert.Equal(m.GetRawText(), one.GetRawText());
        }
    }

    [ConformanceFact]
    public async Task Wan_refuses_true_cfg_scale_instead_of_ignoring_it()
    {
        await using var server = await WanServer.StartAsync();
        var (status, body) = await server.PostJsonAsync("/v1/images/generations",
            new { prompt = "x", size = "48x32", num_inference_steps = 1, true_cfg_scale = 4, negative_prompt = "y" });
        Assert.Equal(400, status);
        LiveServer.AssertError(body, "invalid_value", "true_cfg_scale");
        Assert.Contains("guidance_scale", body.GetProperty("error").GetProperty("message").GetString());

        // a video job is checked by the pipeline before it takes a queue slot: 400 now, no job stored
        var (videoStatus, videoBody) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "x", size = "48x32", num_frames = 9, num_inference_steps = 1, true_cfg_scale = 4 });
        Assert.Equal(400, videoStatus);
        LiveServer.AssertError(videoBody, "invalid_value", "true_cfg_scale");
        // guidance_scale_2 is Wan 2.2 A14B's: this Wan 2.1 model has one transformer
        var (s2, body2) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "x", size = "48x32", num_frames = 9, num_inference_steps = 1, guidance_scale_2 = 3 });
        Assert.Equal(400, s2);
        LiveServer.AssertError(body2, "invalid_value", "guidance_scale_2");
        Assert.Contains("WanPipeline takes no guidance_scale_2", body2.GetProperty("error").GetProperty("message").GetString());
        // a max_sequence_length the text encoder cannot take is the pipeline's 400, before a job is stored
        var (s3, body3) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "x", size = "48x32", num_frames = 9, num_inference_steps = 1, max_sequence_length = 0 });
        Assert.Equal(400, s3);
        LiveServer.AssertError(body3, "invalid_value", "max_sequence_length");
        // within the field's range (4096) but past Wan's text context
        var (s4, body4) = await server.PostJsonAsync("/v1/videos",
            new { prompt = "x", size = "48x32", num_frames = 9, num_inference_steps = 1, max_sequence_length = 513 });
        Assert.Equal(400, s4);
        LiveServer.AssertError(body4, "invalid_value", "max_sequence_length");
        Assert.Contains("at most 512", body4.GetProperty("error").GetProperty("message").GetString());
        var (_, list) = await server.GetJsonAsync("/v1/videos");
        Assert.Equal(0, list.GetProperty("data").GetArrayLength());
    }
}
