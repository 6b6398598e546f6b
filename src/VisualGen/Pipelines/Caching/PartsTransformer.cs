using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// One step of a transformer and its parts (<see cref="TransformerParts"/>) on engines fed from one set of named
/// host inputs: each engine gets the inputs its manifest declares, the parts' token stream as <c>hidden</c>, which stays
/// where the engines compute. <paramref name="engine"/> gives the engine of a part ("" for the whole transformer).
/// </summary>
public sealed class PartsTransformer(Func<string, IEngine> engine, IReadOnlyDictionary<string, HostTensor> inputs,
    Func<float[]> timeEmbedding, HostTensor latentInput, int blockCount) : ISplitTransformer, IDisposable
{
    IEngineTensor? _latentInput;

    public int BlockCount => blockCount;
    public ITensorArithmetic Arithmetic => engine("").AsResident().Arithmetic;
    public float[] TimeEmbedding() => timeEmbedding();

    /// <summary>The step's latents, uploaded on first use (TeaCache's residual is taken against them).</summary>
    public IEngineTensor LatentInput => _latentInput ??= engine("").AsResident().Upload(latentInput);

    public IEngineTensor Whole() => Run("", null, "sample");
    public IEngineTensor Embed() => Run(TransformerParts.Embed, null, "hidden");
    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) => Run(TransformerParts.Blocks(from, to), hidden, "hidden_out");
    public IEngineTensor Output(IEngineTensor hidden) => Run(TransformerParts.Output, hidden, "sample");

    public void Dispose()
    {
        _latentInput?.Dispose();
        _latentInput = null;
    }

    IEngineTensor Run(string part, IEngineTensor? hidden, string output)
    {
        var e = engine(part);
        var resident = e.AsResident();
        string what = part.Length == 0 ? "(whole)" : part;
        using var uploads = new EngineTensorScope();
        var feed = new Dictionary<string, IEngineTensor>();
        foreach (var input in e.Manifest.Inputs)
            feed[input.Name] = input.Name == "hidden" && hidden is not null ? hidden
                : inputs.TryGetValue(input.Name, out var v)
                    // an input the engine reads on the host (position ids) stays there, as StepInputs keeps it
                    ? resident.ReadsOnHost(input.Name) ? new HostResidentTensor(v) : uploads.Own(resident.Upload(v))
                : throw new EngineException($"transformer part '{what}' takes an input '{input.Name}' the pipeline does not give");
        return resident.RunResident(feed, output);
    }
}
