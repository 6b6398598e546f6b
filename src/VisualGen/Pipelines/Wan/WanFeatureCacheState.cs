using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Pipelines.Wan;

/// <summary>The feature cache between two chunk calls of a Wan VAE engine: outputs <c>cache_out.X</c> of one call
/// become inputs <c>cache.X</c> of the next.</summary>
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
}
