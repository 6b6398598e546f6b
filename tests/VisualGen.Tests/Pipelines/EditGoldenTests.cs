using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Flux;
using VisualGen.Pipelines.Flux2;
using VisualGen.Pipelines.Images;
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

    /// <summary>The image's 8-bit levels every <c>step</c>-th row and column of <paramref name="image"/> ([h, w, 3] in
    /// [0, 1]), as the goldens' "lanczos" samples hold them.</summary>
    static int[] Samples(HostTensor image, int step)
    {
        int h = (int)image.Shape[0], w = (int)image.Shape[1];
        var levels = new List<int>();
        for (int y = 0; y < h; y += step)
            for (int x = 0; x < w; x += step)
                for (int c = 0; c < 3; c++) levels.Add((int)MathF.Round(image.Floats[(y * w + x) * 3 + c] * 255f));
        return [.. levels];
    }

    /// <summary>The resizes of the goldens' images as diffusers' processors made them with PIL's LANCZOS (the goldens'
    /// "lanczos" samples, every 16th row and column): the same 8-bit levels from <see cref="SeparableResize"/>. FLUX.2's
    /// reference is a large smooth image (edit_goldens.py's smooth_image) resized to 1024² pixels and centre-cropped to
    /// multiples of 16 (<see cref="Flux2ReferenceImage.Preprocess"/>); the others resize the LCG image of the golden.</summary>
    [Theory]
    [InlineData("flux1_kontext.json")]
    [InlineData("flux2_edit.json")]
    [InlineData("wan22_ti2v_image.json")]
    [InlineData("wan22_i2v_last_image.json")]
    public void Image_resizes_match_pil_lanczos_to_the_level(string file)
    {
        var (golden, image) = Load(file);
        var lanczos = golden.GetProperty("lanczos");
        int[] Pair(string name) => [.. lanczos.GetProperty(name).EnumerateArray().Select(e => e.GetInt32())];
        int[] want = Pair("levels_hwc"), resized = Pair("resized");
        int step = lanczos.GetProperty("step").GetInt32();
        HostTensor got;
        if (lanczos.TryGetProperty("cropped", out _))
        {
            int[] source = Pair("source");
            int h = source[0], w = source[1];
            var smooth = new float[h * w * 3];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int at = (y * w + x) * 3;
                    (smooth[at], smooth[at + 1], smooth[at + 2]) = (x * 255 / (w - 1) / 255f, y * 255 / (h - 1) / 255f, (x * 7 + y * 13) % 256 / 255f);
                }
            var smoothImage = HostTensor.Float32(smooth, h, w, 3);
            Assert.Equal((resized[0], resized[1]), Flux2ReferenceImage.ResizedSize(h, w));
            var vae = Flux2ReferenceImage.Preprocess(smoothImage, 16);  // [1, 3, h, w] in [−1, 1]
            int ch = (int)vae.Shape[2], cw = (int)vae.Shape[3];
            Assert.Equal(Pair("cropped"), new[] { ch, cw });
            var hwc = new float[ch * cw * 3];
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < ch * cw; p++) hwc[p * 3 + c] = (vae.Floats[c * ch * cw + p] + 1f) / 2f;
            got = HostTensor.Float32(hwc, ch, cw, 3);
        }
        else
        {
            got = SeparableResize.Lanczos(image, resized[0], resized[1]);
        }
        var levels = Samples(got, step);
        Assert.Equal(want.Length, levels.Length);
        int off = Enumerable.Range(0, want.Length).Count(i => levels[i] != want[i]);
        output.WriteLine($"{file}: {off} of {want.Length} sampled levels differ from PIL's");
        Assert.Equal(want, levels);
    }
}
