using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Pipelines.Images;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// FLUX.1 Fill (FluxFillPipeline). No fixture exists: the flux1 checkpoint is made a Fill one (in_channels 16 + 16 +
/// 4·8² = 288, out_channels 16, a random x_embedder), and the run is checked against a host loop written from
/// diffusers' code: the masked image's latents and the mask's 8×8 pixels per latent pixel beside the latents at every step.
/// </summary>
public class FluxFillTests(ITestOutputHelper output)
{
    internal static string FillCheckpoint()
    {
        string source = Fixtures.Checkpoint("flux1"), dir = Fixtures.CheckpointVariant("flux1", FluxFill.ClassName, "transformer");
        string transformer = Path.Combine(dir, "transformer");
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(source, "transformer", "config.json")))!.AsObject();
        config["in_channels"] = 288;
        config["out_channels"] = 16;
        File.WriteAllText(Path.Combine(transformer, "config.json"), config.ToJsonString());
        using var weights = SafeTensorsFile.Open(Path.Combine(source, "transformer", "diffusion_pytorch_model.safetensors"));
        var rng = new Random(3);
        var embedder = HostTensor.FromSource(weights, "x_embedder.weight");
        long dim = embedder.Shape[0];
        SafeTensorsWriter.Write(Path.Combine(transformer, "diffusion_pytorch_model.safetensors"),
            [.. weights.Names.Where(n => n != "x_embedder.weight").Select(n => HostTensor.FromSource(weights, n).ToTensorData(n)),
             TensorData.Float32("x_embedder.weight", [dim, 288], [.. Enumerable.Range(0, (int)dim * 288).Select(_ => (float)(rng.NextDouble() - 0.5) * 0.2f)])]);
        return dir;
    }

    static HostTensor Mask(int h, int w)
    {
        var x = new float[h * w * 3];
        for (int p = 0; p < h * w; p++)
            if (p % w >= 13 && p / w >= 19) x[3 * p] = x[3 * p + 1] = x[3 * p + 2] = 1f;   // the lower right, not on 8×8 block edges
        return HostTensor.Float32(x, h, w, 3);
    }

    [ConformanceFact]
    public void Fill_matches_a_host_loop_with_the_masked_image_and_mask_beside_the_latents()
    {
        using var golden = Fixtures.Golden("flux1");
        string dir = FillCheckpoint();
        var image = Fixtures.RandomImage(50, 70, 31);
        var mask = Mask(64, 48);
        var request = ConformancePipelines.RequestFromGolden("flux1", golden) with { Image = image, MaskImage = mask, Latents = null, Seed = 5, GuidanceScale = null };
        using var provider = ConformancePipelines.Provider();
        GenerationResult result;
        using (var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider))
        {
            Assert.True(pipeline.Info.RequiresImage);
            var info = new StringWriter();
            Assert.Equal(0, VisualGen.Cli.CliApp.Run(["info", "--model", dir], info, new StringWriter()));
            Assert.Contains("makes      images from a prompt, an image and a mask of where to fill it (--image and --mask-image, required)\n" +
                "takes      --guidance-scale --max-sequence-length --image --strength --mask-image\n", info.ToString().ReplaceLineEndings("\n"));
            Assert.Equal("image", Assert.Throws<GenerationException>(() => pipeline.Validate(request with { Image = null })).Parameter);
            Assert.Equal("mask_image", Assert.Throws<GenerationException>(() => pipeline.Validate(request with { MaskImage = null })).Parameter);
            Assert.Equal("negative_prompt", Assert.Throws<GenerationException>(() => pipeline.Validate(request with { NegativePrompt = "x" })).Parameter);
            result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        }

        var index = ModelIndex.Load(dir);
        var config = FluxModelConfig.Load(index);
        Assert.Equal((288, 4), (config.TransformerInChannels, config.LatentChannels));
        int steps = request.NumInferenceSteps!.Value, height = request.Height!.Value, width = request.Width!.Value, h = height / 8, w = width / 8;
        var scheduler = FluxGoldenText.Schedule(index, steps, height, width);
        Assert.Equal(1.0, scheduler.Sigmas[0]);   // strength 1: the loop starts from the noise (scale_noise at sigma 1)

        var encoder = provider.GetEngine(dir, "vae.encoder", null);
        var pixels = FluxImageToImage.Preprocess(image, height, width);
        int n = 4 * h * w;
        var normal = LatentNoise.Gaussian(3L * n, 5);
        float[] Pack(float[] grid, int channels) => LatentPacking.Pack(HostTensor.Float32(grid, 1, channels, h, w)).Floats;
        var latents = Pack(normal[n..(2 * n)], 4);   // σ = 1: the noise alone

        // masked_image = init_image · (1 − mask), encoded (a sample: the stream's third part), shifted and scaled, packed
        var binary = InpaintMask.Binarize(mask, height, width);
        var masked = pixels.Floats.Select((v, i) => v * (1f - binary[i % (height * width)])).ToArray();
        var moments = encoder.Run(new Dictionary<string, HostTensor> { ["image"] = HostTensor.Float32(masked, 1, 3, height, width) });
        float shift = config.Vae.ShiftFactor ?? 0f, scale = config.Vae.ScalingFactor;
        var sample = new float[n];
        for (int i = 0; i < n; i++)
            sample[i] = (moments["latent_mean"].Floats[i] + MathF.Exp(0.5f * Math.Clamp(moments["latent_logvar"].Floats[i], -30f, 20f)) * normal[2 * n + i] - shift) * scale;
        // the mask viewed [h, 8, w, 8] and permuted to [8, 8, h, w]: channel 8i + j of latent pixel (y, x) is pixel (8y + i, 8x + j)
        var grid = new float[64 * h * w];
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 8; j++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        grid[((i * 8 + j) * h + y) * w + x] = binary[(8 * y + i) * width + 8 * x + j];
        var maskedLatents = Pack(sample, 4);
        var packedMask = Pack(grid, 64);
        int tokens = h / 2 * (w / 2);

        var text = FluxGoldenText.Encode(provider, dir, golden);
        var transformer = provider.GetEngine(dir, "transformer", null);
        for (int step = 0; step < steps; step++)
        {
            // torch.cat((latents, masked_image_latents), dim=2), masked_image_latents itself cat((masked latents, mask), dim=-1)
            var hidden = new float[tokens * 288];
            for (int t = 0; t < tokens; t++)
            {
                Array.Copy(latents, t * 16, hidden, t * 288, 16);
                Array.Copy(maskedLatents, t * 16, hidden, t * 288 + 16, 16);
                Array.Copy(packedMask, t * 256, hidden, t * 288 + 32, 256);
            }
            latents = scheduler.Step(FluxGoldenText.Predict(transformer, config, text, hidden, scheduler.Timesteps[step], height, width,
                FluxFill.DefaultGuidanceScale), step, latents);
        }
        double maxAbs = Compare.MaxAbs(latents, result.Latents.Floats);
        output.WriteLine($"final latents against the host loop: max abs {maxAbs:g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
        Assert.True(maxAbs < 1e-4, $"max abs {maxAbs}");
    }
}
