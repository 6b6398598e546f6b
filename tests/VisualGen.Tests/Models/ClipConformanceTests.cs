using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Clip;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class ClipConformanceTests(ITestOutputHelper output)
{
    void Check(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"{what}: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, what);
    }

    [ConformanceFact]
    public void Flux_clip_text_pooled_output_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux1"), "text_encoder");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(ClipTextModel.Trace(dir, weights), "text_encoder");
        using var golden = Fixtures.Golden("flux1");
        var outputs = engine.Run(new Dictionary<string, HostTensor> { ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids") });
        Check(Fixtures.GoldenTensor(golden, "text_encoder.pooled_prompt_embeds"), outputs["pooler_output"], "flux1 text_encoder.pooled_prompt_embeds");
        Assert.Equal([1L, 77, 32], outputs["last_hidden_state"].Shape);
    }

    [ConformanceFact]
    public void Wan_i2v_clip_vision_penultimate_state_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_i2v"), "image_encoder");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(ClipVisionModel.Trace(dir, weights), "image_encoder");
        using var golden = Fixtures.Golden("wan21_i2v");
        var outputs = engine.Run(new Dictionary<string, HostTensor> { ["pixel_values"] = Fixtures.GoldenTensor(golden, "image_encoder.in") });
        Check(Fixtures.GoldenTensor(golden, "image_encoder.out"), outputs["hidden_state"], "wan21_i2v image_encoder.out");
    }
}
