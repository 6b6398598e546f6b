using VisualGen.Engines;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// One step of LTX2Pipeline's main transformer call as a step cache sees it (<see cref="Ltx2CacheLayout"/>): the
/// parts run as for every family (<see cref="PartsTransformer"/>); the whole graph, which returns the video and the
/// audio prediction apart, has them joined row by row where the engine computes. Tensors are batched as the call
/// batches them (negative row first under CFG).
/// </summary>
public sealed class Ltx2CachedCall(IEngine whole, Func<string, IEngine> part, StepInputs constants,
    IReadOnlyDictionary<string, IEngineTensor> perStep, IEngineTensor joinedLatents, Func<float[]> timeEmbedding, int blocks) : ISplitTransformer
{
    readonly PartsTransformer _parts = new(p => p.Length == 0 ? whole : part(p), constants, perStep, joinedLatents, timeEmbedding, blocks);

    public int BlockCount => blocks;
    public ITensorArithmetic Arithmetic => _parts.Arithmetic;
    public IEngineTensor LatentInput => joinedLatents;
    public float[] TimeEmbedding() => timeEmbedding();
    public IEngineTensor Embed() => _parts.Embed();
    public IEngineTensor Blocks(int from, int to, IEngineTensor hidden) => _parts.Blocks(from, to, hidden);
    public IEngineTensor Output(IEngineTensor hidden) => _parts.Output(hidden);

    static long Elements(IEngineTensor t) => t.Shape.Aggregate(1L, (x, y) => x * y);

    public IEngineTensor Whole()
    {
        var resident = whole.AsResident();
        var feed = new Dictionary<string, IEngineTensor>();
        foreach (var input in whole.Manifest.Inputs)
            feed[input.Name] = perStep.TryGetValue(input.Name, out var t) ? t
                : constants.Resident(whole, input.Name) ?? throw new EngineException($"the LTX-2 transformer takes an input '{input.Name}' the pipeline does not give");
        var outputs = resident.RunResident(feed);
        try
        {
            var video = outputs["sample"];
            var audio = outputs["audio_sample"];
            long rows = video.Shape[0], v = Elements(video) / rows, a = Elements(audio) / rows;
            var math = resident.Arithmetic;
            var joined = math.Allocate([rows, v + a]);
            for (long r = 0; r < rows; r++)
            {
                math.Copy(joined, r * (v + a), video, r * v, v);
                math.Copy(joined, r * (v + a) + v, audio, r * a, a);
            }
            return joined;
        }
        finally
        {
            foreach (var t in outputs.Values) t.Dispose();
        }
    }
}
