using VisualGen.Pipelines;

namespace VisualGen.Tests.Pipelines;

/// <summary>True CFG's arguments that do nothing in the combination given are said, as diffusers' QwenImagePipeline says them.</summary>
public class GuidanceWarningsTests
{
    static PipelineInfo Info(string className, double defaultTrueCfg, params CallArgument[] args) => new()
    {
        ClassName = className, Family = "f", ProducesVideo = false, Arguments = args, DefaultHeight = 64, DefaultWidth = 64,
        DefaultSteps = 2, SizeMultiple = 16, DefaultTrueCfgScale = defaultTrueCfg,
    };

    static readonly PipelineInfo Flux = Info("FluxPipeline", 1.0, CallArguments.NegativePrompt, CallArguments.TrueCfgScale);
    static readonly PipelineInfo Qwen = Info("QwenImagePipeline", 4.0, CallArguments.NegativePrompt, CallArguments.TrueCfgScale);
    static readonly PipelineInfo Wan = Info("WanPipeline", 1.0, CallArguments.NegativePrompt, CallArguments.GuidanceScale);

    static GenerationRequest R(string? negative = null, double? trueCfg = null) => new() { Prompt = "p", NegativePrompt = negative, TrueCfgScale = trueCfg };

    [Fact]
    public void Ineffective_true_cfg_arguments_are_named()
    {
        Assert.Equal("the negative prompt has no effect: true classifier-free guidance runs only with true_cfg_scale above 1 (1, FluxPipeline's default)",
            Assert.Single(GuidanceWarnings.Of(Flux, R(negative: "bad"))));
        Assert.Equal("true_cfg_scale is 2, but true classifier-free guidance runs only with a negative prompt: it has no effect here (add a negative prompt)",
            Assert.Single(GuidanceWarnings.Of(Flux, R(trueCfg: 2))));
        Assert.Equal("the negative prompt has no effect: true classifier-free guidance runs only with true_cfg_scale above 1 (1)",
            Assert.Single(GuidanceWarnings.Of(Qwen, R(negative: "bad", trueCfg: 1))));
        Assert.Single(GuidanceWarnings.Of(Qwen, R(trueCfg: 4)));
    }

    [Fact]
    public void Effective_or_absent_arguments_say_nothing()
    {
        Assert.Empty(GuidanceWarnings.Of(Flux, R()));
        Assert.Empty(GuidanceWarnings.Of(Flux, R(negative: "bad", trueCfg: 2)));
        Assert.Empty(GuidanceWarnings.Of(Qwen, R(negative: "bad")));   // Qwen-Image's default 4 runs true CFG
        Assert.Empty(GuidanceWarnings.Of(Qwen, R()));                  // its default without a negative prompt: not the client's doing
        Assert.Empty(GuidanceWarnings.Of(Wan, R(negative: "bad")));    // Wan's negative prompt is guidance_scale's
    }
}
