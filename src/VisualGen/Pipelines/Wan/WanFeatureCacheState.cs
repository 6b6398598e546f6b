using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>The feature cache between two chunk calls of a Wan VAE engine: outputs <c>cache_out.X</c> of one call
/// become inputs <c>cache.X</c> of the next; <see cref="RunChunked"/> is the loop the VAE decoder and encoder share.</summary>
static class WanFeatureCacheState
{
    public const string InputPrefix = "cache.", OutputPrefix = "cache_out.";

    public static Dictionary<string, HostTensor> NextInputs(IReadOnlyDictionary<string, HostTensor> previousOutputs)
    {
        var inputs = new Dictionary<string, HostTensor>();
        foreach (var (name, value) in previousOutputs)
            if (name.StartsWith(OutputPrefix, StringComparison.Ordinal))
                inputs[InputPrefix + name[OutputPrefix.Length..]] = value;
        if (inputs.Count == 0) throw new EngineException($"the VAE chunk engine returned no '{OutputPrefix}*' cache outputs; was it exported as a first/next chunk graph?");
        return inputs;
    }

    /// <summary>
    /// Runs a Wan VAE over the frame axis as diffusers does: frame 0 through <paramref name="first"/>, then chunks of
    /// <paramref name="framesPerChunk"/> frames through <paramref name="next"/>, each call fed the previous call's
    /// cache; returns <paramref name="output"/> of every call concatenated over frames.
    /// </summary>
    public static HostTensor RunChunked(IEngine first, IEngine next, HostTensor x, string input, string output, long framesPerChunk,
        string what, CancellationToken cancellationToken)
    {
        long frames = x.Shape[2];
        var outputs = new List<HostTensor>();
        var result = first.Run(new Dictionary<string, HostTensor> { [input] = VideoFrames.Slice(x, 0, 1) });
        outputs.Add(Output(result, output, what));
        for (long start = 1; start < frames; start += framesPerChunk)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var inputs = NextInputs(result);
            inputs[input] = VideoFrames.Slice(x, start, Math.Min(framesPerChunk, frames - start));
            result = next.Run(inputs);
            outputs.Add(Output(result, output, what));
        }
        return VideoFrames.Concat(outputs);
    }

    static HostTensor Output(IReadOnlyDictionary<string, HostTensor> r, string name, string what) =>
        r.TryGetValue(name, out var t) ? t : throw new EngineException($"the VAE {what} engine has no output '{name}'");
}
