using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;
using VisualGen.Exporter.Export;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Runs a conformance family through the public API with the call arguments of its golden.json.
/// One engine cache per test run, shared by the pipeline tests (engines are keyed by graph and weights).</summary>
public static class ConformancePipelines
{
    public static readonly string CacheDir = Fixtures.TempDir("vg-cache");

    public static EngineProvider Provider() => Runtime.CreateEngineProvider(CacheDir, "ort-cpu", null);

    public static GenerationRequest RequestFromGolden(string family, SafeTensorsFile golden)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures.Family(family), "golden.json")));
        var call = doc.RootElement.GetProperty("call");
        string? Str(string k) => call.TryGetProperty(k, out var v) ? v.GetString() : null;
        int? Int(string k) => call.TryGetProperty(k, out var v) ? v.GetInt32() : null;
        double? Dbl(string k) => call.TryGetProperty(k, out var v) ? v.GetDouble() : null;
        return new GenerationRequest
        {
            Prompt = Str("prompt")!,
            NegativePrompt = Str("negative_prompt"),
            Height = Int("height"),
            Width = Int("width"),
            NumFrames = Int("num_frames"),
            NumInferenceSteps = Int("num_inference_steps"),
            GuidanceScale = Dbl("guidance_scale"),
            GuidanceScale2 = Dbl("guidance_scale_2"),
            TrueCfgScale = Dbl("true_cfg_scale"),
            MaxSequenceLength = Int("max_sequence_length"),
            Fps = Dbl("fps") ?? Dbl("frame_rate"),
            StgScale = Dbl("stg_scale"),
            ModalityScale = Dbl("modality_scale"),
            GuidanceRescale = Dbl("guidance_rescale"),
            AudioGuidanceScale = Dbl("audio_guidance_scale"),
            AudioStgScale = Dbl("audio_stg_scale"),
            AudioModalityScale = Dbl("audio_modality_scale"),
            AudioGuidanceRescale = Dbl("audio_guidance_rescale"),
            SpatioTemporalGuidanceBlocks = call.TryGetProperty("spatio_temporal_guidance_blocks", out var blocks)
                ? [.. blocks.EnumerateArray().Select(e => e.GetInt32())] : null,
            UseCrossTimestep = call.TryGetProperty("use_cross_timestep", out var cross) ? cross.GetBoolean() : null,
            Latents = HostTensor.FromSource(golden, "pipeline.latents_init"),
            AudioLatents = golden.Contains("pipeline.audio_latents_init") ? HostTensor.FromSource(golden, "pipeline.audio_latents_init") : null,
            Image = Str("image") is { } img ? ImageTensor(Path.Combine(Fixtures.Family(family), img)) : null,
            TeaCache = Dbl("teacache_thresh") is double thresh
                ? new TeaCacheOptions(thresh, call.TryGetProperty("teacache_coefficients", out var c) ? [.. c.EnumerateArray().Select(e => e.GetDouble())] : null)
                : null,
        };
    }

    static HostTensor ImageTensor(string path)
    {
        var image = VisualGen.Media.PngReader.Read(path);
        return HostTensor.Float32(image.ToFloat(), image.Height, image.Width, 3);
    }

    public static GenerationResult Run(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = RequestFromGolden(family, golden);
        using var provider = Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        return pipeline.GenerateAsync(request).GetAwaiter().GetResult();
    }

    /// <summary>Validates the fixture's golden request, changed by <paramref name="change"/>, on its pipeline (nothing runs).</summary>
    public static void Validate(string family, Func<GenerationRequest, GenerationRequest> change)
    {
        using var golden = Fixtures.Golden(family);
        var request = change(RequestFromGolden(family, golden));
        using var provider = Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        pipeline.Validate(request);
    }

    public static void AssertMatchesGolden(string family, GenerationResult result)
    {
        using var golden = Fixtures.Golden(family);
        var latents = HostTensor.FromSource(golden, "pipeline.latents_final");
        var output = HostTensor.FromSource(golden, "pipeline.output");
        Assert.Equal(latents.Shape, result.Latents.Shape);
        Compare.Pipeline(latents.Floats, result.Latents.Floats, $"{family} latents_final");
        Assert.Equal(output.Shape, result.Output.Shape);
        Compare.Pipeline(output.Floats, result.Output.Floats, $"{family} output");
        // audio families: the audio latents and the vocoder's waveform
        foreach (var (name, got) in new[] { ("pipeline.audio_latents_final", result.AudioLatents), ("pipeline.audio", result.Audio) })
        {
            if (!golden.Contains(name)) continue;
            var expected = HostTensor.FromSource(golden, name);
            Assert.NotNull(got);
            Assert.Equal(expected.Shape, got.Shape);
            Compare.Pipeline(expected.Floats, got.Floats, $"{family} {name}");
        }
    }
}
