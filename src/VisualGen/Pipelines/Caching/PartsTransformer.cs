using VisualGen.Engines;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// One step of a transformer and its parts (<see cref="TransformerParts"/>) for a step cache, all where the engines
/// compute: each engine gets the inputs its manifest declares, from the parts' token stream (<c>hidden</c>), the step's
/// tensors (<paramref name="perStep"/>: latents, timestep) or the generation's constants (<see cref="StepInputs"/>: text
/// embeddings, ids, uploaded once per engine). <paramref name="engine"/> gives the engine of a part ("" for the whole
/// transformer). Tensors are batched as the family batches them; none is taken over. A cancelled
/// <paramref name="cancellationToken"/> stops the part in flight.
/// </summary>
public sealed class PartsTransformer(Func<string, IEngine> engine, StepInputs constants, IReadOnlyDictionary<string, IEngineTensor> perStep,
    IEngineTensor latentInput, Func<float[]> timeEmbedding, int blockCount, CancellationToken cancellationToken = default) : ISplitTransformer
{
    public int BlockCount => blockCount;
    public ITensorArithmetic Arithmetic => engine("").AsResident().Arithmetic;
    public IEngineTensor LatentInput => latentInput;
    public float[] TimeEmbedding() => timeEmbedding();

    public IEngineTensor Whole() => Run("", null, "sample");
    public IEngineTensor Embed() => Run(TransformerParts.Embed, null, "hidden");
    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) => Run(TransformerParts.Blocks(from, to), hidden, "hidden_out");
    public IEngineTensor Output(IEngineTensor hidden) => Run(TransformerParts.Output, hidden, "sample");

    IEngineTensor Run(string part, IEngineTensor? hidden, string output)
    {
        var e = engine(part);
        var feed = new Dictionary<string, IEngineTensor>();
        foreach (var input in e.Manifest.Inputs)
            feed[input.Name] = input.Name == "hidden" && hidden is not null ? hidden
                : perStep.TryGetValue(input.Name, out var t) ? t
                : constants.Resident(e, input.Name)
                  ?? throw new EngineException($"transformer part '{(part.Length == 0 ? "(whole)" : part)}' takes an input '{input.Name}' the pipeline does not give");
        return e.AsResident().RunResident(feed, output, cancellationToken);
    }
}
