using VisualGen.Engines;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// One step of LTX2Pipeline's main transformer call as a step cache sees it (<see cref="Ltx2CacheLayout"/>): the
/// parts run as for every family (<see cref="PartsTransformer"/>); the latents the prediction is made from
/// (<c>hidden_states</c>, <c>audio_hidden_states</c>) and the whole graph's video and audio predictions are joined row
/// by row where the engine computes. Tensors are batched as the call batches them (negative row first under CFG).
/// Disposing it frees the joined latents.
/// </summary>
public sealed class Ltx2CachedCall : ISplitTransformer, IDisposable
{
    readonly IEngine _whole;
    readonly StepInputs _constants;
    readonly IReadOnlyDictionary<string, IEngineTensor> _perStep;
    readonly IEngineTensor _latents;
    readonly PartsTransformer _parts;
    readonly CancellationToken _cancellation;

    public Ltx2CachedCall(IEngine whole, Func<string, IEngine> part, StepInputs constants, IReadOnlyDictionary<string, IEngineTensor> perStep,
        Func<float[]> timeEmbedding, int blocks, CancellationToken cancellationToken = default)
    {
        _whole = whole;
        _cancellation = cancellationToken;
        _constants = constants;
        _perStep = perStep;
        BlockCount = blocks;
        _latents = JoinRows(Arithmetic, perStep["hidden_states"], perStep["audio_hidden_states"]);
        _parts = new PartsTransformer(p => p.Length == 0 ? whole : part(p), constants, perStep, _latents, timeEmbedding, blocks, cancellationToken);
    }

    public int BlockCount { get; }
    public ITensorArithmetic Arithmetic => _whole.AsResident().Arithmetic;
    public IEngineTensor LatentInput => _latents;
    public float[] TimeEmbedding() => _parts.TimeEmbedding();
    public IEngineTensor Embed() => _parts.Embed();
    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) => _parts.Blocks(from, to, hidden);
    public IEngineTensor Output(IEngineTensor hidden) => _parts.Output(hidden);

    public IEngineTensor Whole()
    {
        var feed = new Dictionary<string, IEngineTensor>();
        foreach (var input in _whole.Manifest.Inputs)
            feed[input.Name] = _perStep.TryGetValue(input.Name, out var t) ? t
                : _constants.Resident(_whole, input.Name) ?? throw new EngineException($"the LTX-2 transformer takes an input '{input.Name}' the pipeline does not give");
        var outputs = _whole.AsResident().RunResident(feed, [], _cancellation);
        try { return JoinRows(Arithmetic, outputs["sample"], outputs["audio_sample"]); }
        finally
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }

    public void Dispose() => _latents.Dispose();

    /// <summary>[rows, ...] video and [rows, ...] audio as one [rows, video + audio per row] tensor, video first.</summary>
    static IEngineTensor JoinRows(ITensorArithmetic math, IEngineTensor video, IEngineTensor audio)
    {
        long rows = video.Shape[0], v = Elements(video) / rows, a = Elements(audio) / rows;
        var joined = math.Allocate([rows, v + a]);
        for (long r = 0; r < rows; r++)
        {
            math.Copy(joined, r * (v + a), video, r * v, v);
            math.Copy(joined, r * (v + a) + v, audio, r * a, a);
        }
        return joined;
    }

    static long Elements(IEngineTensor t) => t.Shape.Aggregate(1L, (x, y) => x * y);
}
