using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

public class Flux2PipelineConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Flux2_text_to_image_matches_diffusers()
    {
        var result = ConformancePipelines.Run("flux2");
        Assert.False(result.IsVideo);
        using (var golden = Fixtures.Golden("flux2"))
        {
            var latents = golden.ReadFloat32("pipeline.latents_final");
            var image = golden.ReadFloat32("pipeline.output");
            output.WriteLine($"latents_final: max abs {Compare.MaxAbs(latents, result.Latents.Floats):g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
            output.WriteLine($"output: max abs {Compare.MaxAbs(image, result.Output.Floats):g3}, cosine {Compare.Cosine(image, result.Output.Floats):f7}");
        }
        ConformancePipelines.AssertMatchesGolden("flux2", result);
    }

    static GenerationException Refused(Func<GenerationRequest, GenerationRequest> change)
    {
        using var golden = Fixtures.Golden("flux2");
        var request = change(ConformancePipelines.RequestFromGolden("flux2", golden));
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux2"), provider);
        return Assert.Throws<GenerationException>(() => pipeline.Validate(request));
    }

    [ConformanceFact]
    public void Pipeline_info_follows_diffusers_defaults()
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux2"), provider);
        Assert.Equal("Flux2Pipeline", pipeline.Info.ClassName);
        Assert.Equal("flux2", pipeline.Info.Family);
        Assert.False(pipeline.Info.ProducesVideo);
        Assert.Equal(50, pipeline.Info.DefaultSteps);
        Assert.Equal(16, pipeline.Info.SizeMultiple);
        Assert.Equal(1024, pipeline.Info.DefaultHeight);
    }

    [ConformanceTheory]
    [InlineData("height")]
    [InlineData("width")]
    [InlineData("negative_prompt")]
    [InlineData("true_cfg_scale")]
    [InlineData("max_sequence_length")]
    [InlineData("latents")]
    [InlineData("image")]
    [InlineData("num_frames")]
    public void Bad_requests_are_refused_naming_the_argument(string parameter)
    {
        var e = Refused(r => parameter switch
        {
            "height" => r with { Height = 72 },
            "width" => r with { Width = 40 },
            "negative_prompt" => r with { NegativePrompt = "blurry" },
            "true_cfg_scale" => r with { TrueCfgScale = 4 },
            // the fixture's text encoder has max_position_embeddings 1024
            "max_sequence_length" => r with { MaxSequenceLength = 1025 },
            // packed latents [1, 12, 32] are not what Flux2Pipeline takes (patchified [1, 32, 4, 3])
            "latents" => r with { Latents = HostTensor.Zeros(1, 12, 32) },
            "image" => r with { Image = HostTensor.Zeros(64, 48, 3) },
            _ => r with { NumFrames = 5 },
        });
        Assert.Equal(parameter, e.Parameter);
    }
}
