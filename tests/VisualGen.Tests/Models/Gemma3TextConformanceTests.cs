using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Gemma3;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>LTX-2's Gemma 3 text encoder against the connectors' input golden (connectors.in.arg0: every layer's
/// states, stacked as the pipeline packs them, for [negative, prompt] — the batch order of classifier-free guidance).</summary>
public class Gemma3TextConformanceTests(ITestOutputHelper output)
{
    [ConformanceFact]
    public void Ltx2_gemma3_hidden_states_match_connectors_input_golden()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("ltx2"), "text_encoder");
        using var weights = ComponentWeights.Open(dir);
        using var engine = OrtTestEngine.Build(Gemma3TextModel.Trace(dir, weights), "text_encoder");
        using var golden = Fixtures.Golden("ltx2");
        long[] Cat(string a, string b) => Fixtures.GoldenTensor(golden, a).Longs.Concat(Fixtures.GoldenTensor(golden, b).Longs).ToArray();
        var ids = Cat("tokenizer.negative.input_ids", "tokenizer.prompt.input_ids");
        var mask = Cat("tokenizer.negative.attention_mask", "tokenizer.prompt.attention_mask");
        Assert.Equal(Fixtures.GoldenTensor(golden, "connectors.in.arg1").Longs, mask);
        int length = ids.Length / 2;
        var states = engine.Run(new Dictionary<string, HostTensor>
        {
            [Gemma3TextModel.InputIdsInput] = HostTensor.Int64(ids, 2, length),
            [Gemma3TextModel.MaskInput] = HostTensor.Int64(mask, 2, length),
        })[Gemma3TextModel.HiddenStatesOutput];
        var expected = Fixtures.GoldenTensor(golden, "connectors.in.arg0");
        Assert.Equal(expected.Shape, states.Shape);
        output.WriteLine($"max abs error {Compare.MaxAbs(expected.Floats, states.Floats):g3} (max |ref| {Compare.MaxAbsRef(expected.Floats):g3})");
        Compare.Component(expected.Floats, states.Floats, "ltx2 text encoder (connectors.in.arg0)");
    }
}
