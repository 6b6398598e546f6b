using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Flux2TextEncoderConformanceTests(ITestOutputHelper output)
{
    static string Dir => Path.Combine(Fixtures.Checkpoint("flux2"), "text_encoder");

    [ConformanceFact]
    public void Flux2_text_encoder_matches_diffusers_golden()
    {
        using var weights = ComponentWeights.Open(Dir);
        using var engine = OrtTestEngine.Build(Flux2TextEncoder.Trace(Dir, weights), "text_encoder");
        using var golden = Fixtures.Golden("flux2");
        var actual = engine.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids"),
            ["attention_mask"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.attention_mask"),
        })["prompt_embeds"];
        var expected = Fixtures.GoldenTensor(golden, "text_encoder.prompt_embeds");
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"flux2 text_encoder.prompt_embeds: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, "flux2 text_encoder.prompt_embeds");
    }

    [ConformanceFact]
    public void A_hidden_state_deeper_than_the_model_is_refused()
    {
        using var weights = ComponentWeights.Open(Dir);
        var e = Assert.Throws<CheckpointException>(() => Flux2TextEncoder.Trace(Dir, weights, [10, 20, 31]));
        Assert.Contains("hidden state 31", e.Message);
    }
}
