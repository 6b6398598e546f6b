using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// One step of a transformer and its parts (<see cref="TransformerParts"/>) on engines fed from one set of named
/// inputs: each engine gets the inputs its manifest declares, the parts' token stream as <c>hidden</c>.
/// <paramref name="engine"/> gives the engine of a part ("" for the whole transformer).
/// </summary>
public sealed class PartsTransformer(Func<string, IEngine> engine, IReadOnlyDictionary<string, HostTensor> inputs,
    Func<float[]> timeEmbedding, float[] latentInput, int blockCount) : ISplitTransformer
{
    public int BlockCount => blockCount;
    public float[] LatentInput => latentInput;
    public float[] Whole() => Run("", null, "sample").Floats;
    public float[] TimeEmbedding() => timeEmbedding();
    public HostTensor Embed() => Run(TransformerParts.Embed, null, "hidden");
    public HostTensor Blocks(int from, int to, HostTensor hidden) => Run(TransformerParts.Blocks(from, to), hidden, "hidden_out");
    public float[] Output(HostTensor hidden) => Run(TransformerParts.Output, hidden, "sample").Floats;

    HostTensor Run(string part, HostTensor? hidden, string output)
    {
        var e = engine(part);
        var feed = new Dictionary<string, HostTensor>();
        foreach (var input in e.Manifest.Inputs)
            feed[input.Name] = input.Name == "hidden" && hidden is not null ? hidden
                : inputs.TryGetValue(input.Name, out var v) ? v
                : throw new EngineException($"transformer part '{(part.Length == 0 ? "(whole)" : part)}' takes an input '{input.Name}' the pipeline does not give");
        return e.Run(feed).TryGetValue(output, out var o) ? o
            : throw new EngineException($"transformer part '{(part.Length == 0 ? "(whole)" : part)}' has no output '{output}'");
    }
}
