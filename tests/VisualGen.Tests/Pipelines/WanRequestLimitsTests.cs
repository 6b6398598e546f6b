using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>A request is checked against what the checkpoint can do (its rotary table) before any work, with a message
/// naming the limit, instead of failing inside the transformer.</summary>
public class WanRequestLimitsTests
{
    static IGenerationPipeline Load(string family) =>
        ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), ConformancePipelines.Provider());

    [ConformanceFact]
    public void Sizes_past_the_rotary_table_are_refused_naming_rope_max_seq_len()
    {
        // wan21_t2v's transformer has rope_max_seq_len 32: 32 patches of 16 pixels across, 32 latent frames
        using var p = Load("wan21_t2v");
        var wide = Assert.Throws<GenerationException>(() => p.Validate(new GenerationRequest { Prompt = "x", Height = 480, Width = 832, NumFrames = 9 }));
        Assert.Equal("width", wide.Parameter);
        Assert.Equal("width 832 needs 52 rotary positions along that axis; this checkpoint's transformer covers 32 (rope_max_seq_len in transformer/config.json): width can be at most 512", wide.Message);
        var tall = Assert.Throws<GenerationException>(() => p.Validate(new GenerationRequest { Prompt = "x", Height = 528, Width = 48, NumFrames = 9 }));
        Assert.Equal("height", tall.Parameter);
        Assert.Contains("height can be at most 512", tall.Message);
        var longer = Assert.Throws<GenerationException>(() => p.Validate(new GenerationRequest { Prompt = "x", Height = 32, Width = 48, NumFrames = 133 }));
        Assert.Equal("num_frames", longer.Parameter);
        Assert.Contains("num_frames can be at most 125", longer.Message);
        // at the limits it is accepted
        p.Validate(new GenerationRequest { Prompt = "x", Height = 512, Width = 512, NumFrames = 125 });
    }

    [Fact]
    public void The_demo_model_takes_the_readmes_own_sizes()
    {
        string dir = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("demo-limits"), "wan"));
        using var p = ModelFamilies.CreateRegistry().Create(dir, ConformancePipelines.Provider());
        p.Validate(new GenerationRequest { Prompt = "A red fox runs across a snowy field at dawn.", Height = 480, Width = 832, NumFrames = 81, NumInferenceSteps = 50 });
    }
}
