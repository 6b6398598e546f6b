using VisualGen.Pipelines;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

public class QwenImagePipelineConformanceTests(ITestOutputHelper log)
{
    [ConformanceFact]
    public void QwenImage_text_to_image_with_true_cfg_matches_diffusers()
    {
        var result = ConformancePipelines.Run("qwenimage");
        Assert.False(result.IsVideo);
        using (var golden = Fixtures.Golden("qwenimage"))
            foreach (var (name, actual) in new[] { ("pipeline.latents_final", result.Latents), ("pipeline.output", result.Output) })
            {
                var expected = golden.ReadFloat32(name);
                log.WriteLine($"qwenimage {name}: max abs {Compare.MaxAbs(expected, actual.Floats):g3}, cosine {Compare.Cosine(expected, actual.Floats):f7}");
            }
        ConformancePipelines.AssertMatchesGolden("qwenimage", result);
    }

    [ConformanceFact]
    public void Bad_requests_name_the_argument()
    {
        using var golden = Fixtures.Golden("qwenimage");
        var good = ConformancePipelines.RequestFromGolden("qwenimage", golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("qwenimage"), provider);
        Assert.Equal("qwenimage", pipeline.Info.Family);
        Assert.Equal(16, pipeline.Info.SizeMultiple);

        void Refused(GenerationRequest r, string parameter, string text)
        {
            var e = Assert.Throws<GenerationException>(() => pipeline.GenerateAsync(r).GetAwaiter().GetResult());
            Assert.Equal(parameter, e.Parameter);
            Assert.Contains(text, e.Message);
        }
        Refused(good with { Height = 72 }, "height", "multiple of 16");
        Refused(good with { Width = 40 }, "width", "multiple of 16");
        Refused(good with { Prompt = " " }, "prompt", "empty");
        Refused(good with { MaxSequenceLength = 1025 }, "max_sequence_length", "1024");
        Refused(good with { GuidanceScale = 3.5 }, "guidance_scale", "true_cfg_scale");
        Refused(good with { NumFrames = 5 }, "num_frames", "an image pipeline takes num_frames 1 or none");
        Refused(good with { Strength = 0.5 }, "strength", "give an image");  // an image makes it image-to-image
        Refused(good with { Image = Tensors.HostTensor.Zeros(64, 48, 3), Strength = 2 }, "strength", "(0, 1]");
        Refused(good with { TrueCfgScale = -1 }, "true_cfg_scale", "≥ 0");
        Refused(good with { Latents = Tensors.HostTensor.Zeros(1, 16, 1, 8, 6) }, "latents", "[1, 12, 64]");
        Refused(good with { NumInferenceSteps = 1 }, "num_inference_steps", "at least 2");
    }
}
