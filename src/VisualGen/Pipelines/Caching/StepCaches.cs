namespace VisualGen.Pipelines.Caching;

/// <summary>Creates the step cache a request asks for, one per transformer.</summary>
public static class StepCaches
{
    /// <summary>Checks a request's cache options: at most one cache, each valid (Cache-DiT against the transformer's <paramref name="blocks"/>).</summary>
    public static void Validate(GenerationRequest r, int blocks)
    {
        if (r.TeaCache is not null && r.CacheDit is not null)
            throw new GenerationException("teacache_thresh", "TeaCache and Cache-DiT cannot be combined: choose one step cache");
        r.TeaCache?.Validate();
        r.CacheDit?.Validate(blocks);
    }

    /// <summary><see cref="Validate"/> for a family with no shipped TeaCache table (FLUX.2, Cosmos3, LTX-2): TeaCache
    /// needs the request's own coefficients.</summary>
    public static void ValidateWithoutTeaCacheTable(GenerationRequest r, int blocks, string family,
        string coverage = "TensorRT-LLM's tables cover Wan 2.1, FLUX.1 and Qwen-Image")
    {
        Validate(r, blocks);
        if (r.TeaCache is { Coefficients: null })
            throw new GenerationException("teacache_coefficients",
                $"{family} has no shipped TeaCache coefficients ({coverage}): pass teacache_coefficients, or use Cache-DiT");
    }

    /// <summary>The log of a request's cache, or null when the request asks for none; the loop runs the schedule's
    /// <paramref name="steps"/> from <paramref name="firstStep"/> (image-to-image starts part-way).</summary>
    public static StepCacheLog? Log(GenerationRequest r, int steps, int firstStep = 0) =>
        r.TeaCache is not null ? new StepCacheLog("teacache", steps, firstStep)
        : r.CacheDit is not null ? new StepCacheLog("cache-dit", steps, firstStep)
        : null;

    /// <summary>A fresh cache for one transformer; <paramref name="defaultCoefficients"/> are the family's TeaCache table.</summary>
    public static IStepCache Create(GenerationRequest r, StepCacheLog log, IReadOnlyList<double> defaultCoefficients) =>
        r.TeaCache is { } tea ? new TeaCache(tea.Threshold, tea.Coefficients ?? defaultCoefficients, log)
        : r.CacheDit is { } dit ? new DbCache(dit, log)
        : throw new InvalidOperationException("the request asks for no step cache");
}

/// <summary>One step cache per transformer (Wan 2.2 A14B: one per expert, which never share a residual), created on first
/// use and disposed together.</summary>
public sealed class StepCacheSet(Func<IStepCache> create) : IDisposable
{
    readonly Dictionary<string, IStepCache> _caches = new(StringComparer.Ordinal);

    public IStepCache For(string transformer) =>
        _caches.TryGetValue(transformer, out var c) ? c : _caches[transformer] = create();

    public void Dispose()
    {
        foreach (var c in _caches.Values) c.Dispose();
        _caches.Clear();
    }
}
