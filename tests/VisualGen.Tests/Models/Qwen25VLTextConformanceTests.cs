using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Qwen25VL;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class Qwen25VLTextConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void QwenImage_text_encoder_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("qwenimage"), "text_encoder");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(Qwen25VLTextModel.Trace(dir, weights), "text_encoder");
        using var golden = Fixtures.Golden("qwenimage");
        var actual = engine.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.input_ids"),
            ["attention_mask"] = Fixtures.GoldenTensor(golden, "tokenizer.prompt.attention_mask"),
        })["last_hidden_state"];
        var expected = Fixtures.GoldenTensor(golden, "text_encoder.raw_last_hidden_state");
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"qwenimage text_encoder.raw_last_hidden_state: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, "qwenimage text_encoder.raw_last_hidden_state");

        // the negative prompt (another length) has no raw golden: QwenImagePipeline drops the template's first 34 states
        const int dropped = 34;
        var negative = engine.Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = Fixtures.GoldenTensor(golden, "tokenizer.negative.input_ids"),
            ["attention_mask"] = Fixtures.GoldenTensor(golden, "tokenizer.negative.attention_mask"),
        })["last_hidden_state"];
        var negativeExpected = Fixtures.GoldenTensor(golden, "text_encoder.negative_prompt_embeds");
        long dim = negative.Shape[2];
        Assert.Equal(negative.Shape[1] - dropped, negativeExpected.Shape[1]);
        var kept = negative.Floats.AsSpan((int)(dropped * dim));
        output.WriteLine($"qwenimage text_encoder.negative_prompt_embeds: max abs error {Compare.MaxAbs(negativeExpected.Floats, kept):g3}");
        Compare.Component(negativeExpected.Floats, kept, "qwenimage text_encoder.negative_prompt_embeds");
    }
}
