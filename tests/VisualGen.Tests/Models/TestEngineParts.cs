using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;

namespace VisualGen.Tests.Models;

/// <summary>A transformer's parts on test engines built straight from traced graphs (their manifests list no inputs):
/// each part gets the named inputs it takes, and the token stream as <c>hidden</c>.</summary>
sealed class TestEngineParts(Func<string, IEngine> engine, IReadOnlyDictionary<string, HostTensor> inputs, int blocks,
    string[] embedInputs, string[] blockInputs, string[] outputInputs) : ISplitTransformer
{
    public int BlockCount => blocks;
    public float[] LatentInput => inputs["hidden_states"].Floats;
    public float[] TimeEmbedding() => throw new NotSupportedException("TeaCache is not exercised through the test parts");
    public float[] Whole() => engine("").Run(inputs)["sample"].Floats;
    public HostTensor Embed() => engine(TransformerParts.Embed).Run(Pick(embedInputs, null))["hidden"];
    public HostTensor Blocks(int from, int to, HostTensor hidden) => engine(TransformerParts.Blocks(from, to)).Run(Pick(blockInputs, hidden))["hidden_out"];
    public float[] Output(HostTensor hidden) => engine(TransformerParts.Output).Run(Pick(outputInputs, hidden))["sample"].Floats;

    Dictionary<string, HostTensor> Pick(string[] names, HostTensor? hidden)
    {
        var d = names.Where(inputs.ContainsKey).ToDictionary(n => n, n => inputs[n]);
        if (hidden is not null) d["hidden"] = hidden;
        return d;
    }
}
