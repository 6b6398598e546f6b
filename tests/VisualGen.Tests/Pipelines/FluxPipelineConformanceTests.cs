using VisualGen.Pipelines;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

public class FluxPipelineConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Flux1_text_to_image_matches_diffusers()
    {
        var result = ConformancePipelines.Run("flux1");
        Assert.False(result.IsVideo);
        using (var golden = Fixtures.Golden("flux1"))
        {
            var latents = golden.ReadFloat32("pipeline.latents_final");
            var image = golden.ReadFloat32("pipeline.output");
            output.WriteLine($"latents_final: max abs {Compare.MaxAbs(latents, result.Latents.Floats):g3}, cosine {Compare.Cosine(latents, result.Latents.Floats):f7}");
            output.WriteLine($"output: max abs {Compare.MaxAbs(image, result.Output.Floats):g3}, cosine {Compare.Cosine(image, result.Output.Floats):f7}");
        }
        ConformancePipelines.AssertMatchesGolden("flux1", result);
    }

    static GenerationException Refused(Func<GenerationRequest, GenerationRequest> change)
    {
        using var golden = Fixtures.Golden("flux1");
        var request = change(ConformancePipelines.RequestFromGolden("flux1", golden));
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        return Assert.Throws<GenerationException>(() => pipeline.GenerateAsync(request).GetAwaiter().GetResult());
    }

    [ConformanceFact]
    public void Pipeline_info_follows_diffusers_defaults()
    {
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        Assert.Equal("FluxPipeline", pipeline.Info.ClassName);
        Assert.False(pipeline.Info.ProducesVideo);
        Assert.True(pipeline.Info.AcceptsImage);  // image-to-image (FluxImg2ImgPipeline)
        Assert.Equal(28, pipeline.Info.DefaultSteps);
        Assert.Equal(16, pipeline.Info.SizeMultiple);
        // default_sample_size 128 × vae_scale_factor 8 (four VAE blocks)
        Assert.Equal(1024, pipeline.Info.DefaultHeight);
        Assert.Equal(1024, pipeline.Info.DefaultWidth);
    }

    [ConformanceFact]
    public void Height_not_multiple_of_16_is_refused()
    {
        var e = Refused(r => r with { Height = 72, Latents = null });
        Assert.Equal("height", e.Parameter);
        Assert.Contains("multiple of 16", e.Message);
    }

    [ConformanceFact]
    public void Width_not_multiple_of_16_is_refused()
    {
        var e = Refused(r => r with { Width = 40, Latents = null });
        Assert.Equal("width", e.Parameter);
        Assert.Contains("multiple of 16", e.Message);
    }

    [ConformanceFact]
    public void Strength_without_an_image_is_refused()
    {
        var e = Refused(r => r with { Strength = 0.5 });
        Assert.Equal("strength", e.Parameter);
        Assert.Contains("give an image", e.Message);
    }

    [ConformanceFact]
    public void Max_sequence_length_over_512_is_refused()
    {
        var e = Refused(r => r with { MaxSequenceLength = 513 });
        Assert.Equal("max_sequence_length", e.Parameter);
    }

    [ConformanceFact]
    public void Unpacked_latents_are_refused_with_the_packed_shape()
    {
        var e = Refused(r => r with { Latents = HostTensor.Zeros(1, 4, 8, 6) });
        Assert.Equal("latents", e.Parameter);
        Assert.Contains("[1, 12, 16]", e.Message);
    }
}
