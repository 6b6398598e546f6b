using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>The feature cache between two chunk calls of a Wan VAE engine: outputs <c>cache_out.X</c> of one call
/// become inputs <c>cache.X</c> of the next; <see cref="RunChunked"/> is the loop the VAE decoder and encoder share.</summary>
static class WanFeatureCacheState
{
    public const string InputPrefix = "cache.", OutputPrefix = "cache_out.";

    public static Dictionary<string, T> NextInputs<T>(IReadOnlyDictionary<string, T> previousOutputs)
    {
        var inputs = new Dictionary<string, T>();
        foreach (var (name, value) in previousOutputs)
            if (name.StartsWith(OutputPrefix, StringComparison.Ordinal))
                inputs[InputPrefix + name[OutputPrefix.Length..]] = value;
        if (inputs.Count == 0) throw new EngineException($"the VAE chunk engine returned no '{OutputPrefix}*' cache outputs; was it exported as a first/next chunk graph?");
        return inputs;
    }

    /// <summary>
    /// Runs a Wan VAE over the frame axis as diffusers does: frame 0 through <paramref name="firstEngine"/>, then chunks
    /// of <paramref name="framesPerChunk"/> frames through <paramref name="nextEngine"/>, each call fed the previous
    /// call's cache; returns <paramref name="output"/> of every call concatenated over frames. The next-chunk engine is
    /// asked for after the first chunk has run (never for a single frame): a GPU memory budget then sees the first
    /// chunk's cache beside it (<see cref="PipelineEngines"/>). The cache stays where the engines
    /// compute (on the GPU for the native engine: a 480×832 decoder's cache is about 2.8 GB per chunk, which would
    /// otherwise cross PCIe twice per chunk); only each chunk's frames and output cross to the host.
    /// </summary>
    public static HostTensor RunChunked(IEngine firstEngine, Func<IEngine> nextEngine, HostTensor x, string input, string output, long framesPerChunk,
        string what, CancellationToken cancellationToken)
    {
        var first = firstEngine.AsResident();
        IResidentEngine? next = null;
        long frames = x.Shape[2];
        var outputs = new List<HostTensor>();
        IReadOnlyDictionary<string, IEngineTensor>? result = null;
        try
        {
            using (var chunk = first.Upload(VideoFrames.Slice(x, 0, 1)))
                result = first.RunResident(new Dictionary<string, IEngineTensor> { [input] = chunk }, [], cancellationToken);
            outputs.Add(Output(result, output, what).ToHost());
            for (long start = 1; start < frames; start += framesPerChunk)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var inputs = NextInputs(result);
                next ??= nextEngine().AsResident();
                using var chunk = next.Upload(VideoFrames.Slice(x, start, Math.Min(framesPerChunk, frames - start)));
                var cache = inputs.Keys.ToList();
                inputs[input] = chunk;
                var previous = result;
                result = null;
                // the old cache is consumed: the engine frees it once copied in, before the new cache is allocated
                try { result = next.RunResident(inputs, cache, cancellationToken); }
                finally { foreach (var t in previous.Values) t.Dispose(); }
                outputs.Add(Output(result, output, what).ToHost());
            }
        }
        finally
        {
            if (result is not null) foreach (var t in result.Values) t.Dispose();
        }
        return VideoFrames.Concat(outputs);
    }

    static T Output<T>(IReadOnlyDictionary<string, T> r, string name, string what) =>
        r.TryGetValue(name, out var t) ? t : throw new EngineException($"the VAE {what} engine has no output '{name}'");
}
