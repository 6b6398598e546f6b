using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Image conditioning against diffusers itself: goldens written by <c>tools/device/edit_goldens.py</c> on the GPU machine
/// (diffusers on the CPU in float32, Pipelines/Data/*.json) from the conformance fixtures, the golden's initial latents and
/// an LCG image the test repeats. Our run encodes the prompt itself (the goldens used the fixture's embeddings) and
/// its final latents must meet the conformance pipeline tolerance.
/// </summary>
public class EditGoldenTests(ITestOutputHelper output)
{
    /// <summary>edit_goldens.py's images (cover_resize_golden.lcg_image) as [0, 1] floats.</summary>
    static HostTensor LcgImage(int h, int w, long seed) => Fixtures.LcgImage(h, w, seed, 1f / 255);

    static (JsonElement Golden, HostTensor Image) Load(string file)
    {
        var golden = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Pipelines", "Data", file))).RootElement;
        var image = golden.GetProperty("image");
        return (golden, LcgImage(image.GetProperty("height").GetInt32(), image.GetProperty("width").GetInt32(), image.GetProperty("seed").GetInt64()));
    }

    void Check(JsonElement golden, string model, GenerationRequest request, string what)
    {
        request = request with
        {
            Height = golden.GetProperty("height").GetInt32(), Width = golden.GetProperty("width").GetInt32(),
            NumInferenceSteps = golden.GetProperty("num_inference_steps").GetInt32(), GuidanceScale = golden.GetProperty("guidance_scale").GetDouble(),
        };
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(model, provider);
        var result = pipeline.GenerateAsync(request).GetAwaiter().GetResult();
        var expected = golden.GetProperty("latents_final").EnumerateArray().Select(e => e.GetSingle()).ToArray();
        Assert.Equal(golden.GetProperty("latents_final_shape").EnumerateArray().Select(e => e.GetInt64()), result.Latents.Shape);
        output.WriteLine($"{what}: max abs {Compare.MaxAbs(expected, result.Latents.Floats):g3}, cosine {Compare.Cosine(expected, result.Latents.Floats):f7}");
        Compare.Pipeline(expected, result.Latents.Floats, what);
    }

    [ConformanceFact]
    public void Flux2_editing_with_a_reference_image_matches_diffusers()
    {
        var (golden, image) = Load("flux2_edit.json");
        using var fixture = Fixtures.Golden("flux2");
        Check(golden, Fixtures.Checkpoint("flux2"), ConformancePipelines.RequestFromGolden("flux2", fixture) with { Image = image }, "FLUX.2 edit");
    }

    [ConformanceFact]
    public void Flux1_kontext_editing_matches_diffusers()
    {
        var (golden, image) = Load("flux1_kontext.json");
        using var fixture = Fixtures.Golden("flux1");
        var request = ConformancePipelines.RequestFromGolden("flux1", fixture) with
        {
            Image = image, MaxArea = golden.GetProperty("height").GetInt64() * golden.GetProperty("width").GetInt64(),
        };
        Check(golden, FluxKontextTests.KontextCheckpoint(), request, "FLUX.1 Kontext edit");
    }

    [ConformanceFact]
    public void Wan22_a14b_image_to_video_with_a_last_frame_matches_diffusers()
    {
        var (golden, last) = Load("wan22_i2v_last_image.json");
        using var fixture = Fixtures.Golden("wan22_i2v_a14b");
        Check(golden, Fixtures.Checkpoint("wan22_i2v_a14b"), ConformancePipelines.RequestFromGolden("wan22_i2v_a14b", fixture) with { LastImage = last },
            "Wan 2.2 A14B last frame");
    }

    [ConformanceFact]
    public void Wan22_ti2v_with_a_first_frame_matches_diffusers()
    {
        var (golden, image) = Load("wan22_ti2v_image.json");
        using var fixture = Fixtures.Golden("wan22_ti2v_5b");
        Check(golden, Fixtures.Checkpoint("wan22_ti2v_5b"), ConformancePipelines.RequestFromGolden("wan22_ti2v_5b", fixture) with { Image = image },
            "Wan 2.2 TI2V first frame");
    }
}
