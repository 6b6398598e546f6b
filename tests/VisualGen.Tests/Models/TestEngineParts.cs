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
    public IEngineTensor LatentInput => new HostResidentTensor(inputs["hidden_states"]);
    public float[] TimeEmbedding() => throw new NotSupportedException("TeaCache is not exercised through the test parts");
    public ITensorArithmetic Arithmetic => HostArithmetic.Instance;
    public IEngineTensor Whole() => new HostResidentTensor(engine("").Run(inputs)["sample"]);
    public IEngineTensor Embed() => new HostResidentTensor(engine(TransformerParts.Embed).Run(Pick(embedInputs, null))["hidden"]);
    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) =>
        new HostResidentTensor(engine(TransformerParts.Blocks(from, to)).Run(Pick(blockInputs, hidden.ToHost()))["hidden_out"]);
    public IEngineTensor Output(IEngineTensor hidden) => new HostResidentTensor(engine(TransformerParts.Output).Run(Pick(outputInputs, hidden.ToHost()))["sample"]);

    Dictionary<string, HostTensor> Pick(string[] names, HostTensor? hidden)
    {
        var d = names.Where(inputs.ContainsKey).ToDictionary(n => n, n => inputs[n]);
        if (hidden is not null) d["hidden"] = hidden;
        return d;
    }
}

/// <summary>A transformer's whole graph ("") and its parts as test engines, each built on first use from its trace.</summary>
sealed class PartEngines(Func<string, Exporter.Graph.Graph> trace) : IDisposable
{
    readonly Dictionary<string, IEngine> _engines = [];

    public IEngine this[string part] => _engines.TryGetValue(part, out var e) ? e : _engines[part] = OrtTestEngine.Build(trace(part), part);

    public void Dispose()
    {
        foreach (var e in _engines.Values) e.Dispose();
    }
}
