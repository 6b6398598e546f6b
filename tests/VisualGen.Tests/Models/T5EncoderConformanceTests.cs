using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

public class T5EncoderConformanceTests(ITestOutputHelper output)
{
    static IReadOnlyDictionary<string, HostTensor> Encode(string componentDir, HostTensor ids, HostTensor mask)
    {
        using var weights = ComponentWeights.Open(componentDir);
        var graph = T5Encoder.Trace(componentDir, weights);
        using var engine = OrtTestEngine.Build(graph, "text_encoder");
        return engine.Run(new Dictionary<string, HostTensor> { ["input_ids"] = ids, ["attention_mask"] = mask });
    }

    void Check(HostTensor expected, HostTensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        output.WriteLine($"{what}: max abs error {Compare.MaxAbs(expected.Floats, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, actual.Floats, what);
    }

    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("wan21_t2v_euler")]
    [InlineData("wan22_t2v_a14b")]
    [InlineData("wan22_ti2v_5b")]
    [InlineData("wan21_i2v")]
    [InlineData("wan22_i2v_a14b")]
    public void Wan_umt5_encoder_and_prompt_embeds_match_diffusers_golden(string family)
    {
        string dir = Path.Combine(Fixtures.Checkpoint(family), "text_encoder");
        using var golden = Fixtures.Golden(family);
        foreach (var (tokens, embeds) in new[] { ("prompt", "prompt_embeds"), ("negative", "negative_prompt_embeds") })
        {
            var ids = Fixtures.GoldenTensor(golden, $"tokenizer.{tokens}.input_ids");
            var mask = Fixtures.GoldenTensor(golden, $"tokenizer.{tokens}.attention_mask");
            var raw = Encode(dir, ids, mask)["last_hidden_state"];
            if (tokens == "prompt" && golden.Names.Contains("text_encoder.raw_last_hidden_state"))
                Check(Fixtures.GoldenTensor(golden, "text_encoder.raw_last_hidden_state"), raw, $"{family} text_encoder.raw_last_hidden_state");
            Check(Fixtures.GoldenTensor(golden, $"text_encoder.{embeds}"), WanPromptEmbeds.ZeroPastPromptLength(raw, mask), $"{family} text_encoder.{embeds}");
        }
    }

    [ConformanceFact]
    public void Flux_t5_encoder_without_mask_matches_diffusers_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("flux1"), "text_encoder_2");
        using var golden = Fixtures.Golden("flux1");
        var ids = Fixtures.GoldenTensor(golden, "tokenizer_2.prompt.input_ids");
        // FluxPipeline calls the T5 encoder without an attention mask: it attends to the padding too
        var ones = HostTensor.Int64(Enumerable.Repeat(1L, (int)ids.ElementCount).ToArray(), ids.Shape);
        var states = Encode(dir, ids, ones)["last_hidden_state"];
        Check(Fixtures.GoldenTensor(golden, "text_encoder_2.prompt_embeds"), states, "flux1 text_encoder_2.prompt_embeds");
    }
}
