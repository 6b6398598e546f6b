using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Requests Cosmos3OmniPipeline refuses before running anything, each with an error naming the argument;
/// and fps, which only Cosmos3 takes, refused by the other families.</summary>
public class Cosmos3RequestTests
{
    static GenerationRequest Base => new() { Prompt = "a train", Height = 64, Width = 96, NumFrames = 9, NumInferenceSteps = 2 };

    public static TheoryData<string, GenerationRequest, string> BadRequests => new()
    {
        { "height", Base with { Height = 72 }, "multiple of 16" },
        { "width", Base with { Width = 0 }, "multiple of 16" },
        { "num_frames", Base with { NumFrames = 8 }, "4k+1" },
        { "fps", Base with { Fps = 0 }, "positive" },
        { "fps", Base with { Fps = double.NaN }, "positive" },
        { "num_inference_steps", Base with { NumInferenceSteps = 0 }, "must be at least 1" },
        { "guidance_scale_2", Base with { GuidanceScale2 = 3 }, "guidance_scale only" },
        { "true_cfg_scale", Base with { TrueCfgScale = 3 }, "guidance_scale" },
        { "max_sequence_length", Base with { MaxSequenceLength = 64 }, "whole templated prompt" },
        { "prompt", Base with { Prompt = " " }, "empty" },
        { "image", Base with { NumFrames = 1, Image = HostTensor.Zeros(64, 96, 3) }, "num_frames > 1" },
        { "image", Base with { Image = HostTensor.Zeros(0, 48, 3) }, "image is empty" },
        { "image", Base with { Image = HostTensor.Zeros(64, 96, 4) }, "[height, width, 3]" },
        { "latents", Base with { Latents = HostTensor.Zeros(1, 48, 2, 4, 6) }, "[1, 48, 3, 4, 6]" },
    };

    [ConformanceTheory]
    [MemberData(nameof(BadRequests))]
    public void Bad_requests_are_refused_naming_the_argument(string parameter, GenerationRequest request, string message)
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("cosmos3_t2v"), provider);
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request));
        Assert.Equal(parameter, e.Parameter);
        Assert.Contains(message, e.Message);
    }

    [ConformanceFact]
    public void Valid_requests_pass_validation()
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("cosmos3_t2v"), provider);
        pipeline.Validate(Base);
        pipeline.Validate(Base with { NumFrames = 1, Height = 48, Width = 32, Fps = 16 });
        pipeline.Validate(Base with { Image = HostTensor.Zeros(64, 96, 3), Latents = HostTensor.Zeros(1, 48, 3, 4, 6) });
        Assert.Equal("cosmos3", pipeline.Info.Family);
        Assert.True(pipeline.Info.ProducesVideo && pipeline.Info.AcceptsImage && !pipeline.Info.RequiresImage);
    }

    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("flux1")]
    [InlineData("qwenimage")]
    public void Other_families_refuse_fps(string family)
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(new GenerationRequest { Prompt = "a cat", Fps = 24, Height = 64, Width = 64 }));
        Assert.Equal("fps", e.Parameter);
    }
}
