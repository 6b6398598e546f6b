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

    /// <summary>For the families without step caches (LTX-2): a request that asks for one is refused, not run uncached as
    /// if it had been honoured.</summary>
    public static void RefuseIn(GenerationRequest r, string family)
    {
        if (r.TeaCache is not null || r.CacheDit is not null)
            throw new GenerationException(r.TeaCache is not null ? "teacache_thresh" : "cache_dit",
                $"step caches (TeaCache, Cache-DiT) are not implemented for {family} (they are for Wan, FLUX.1, FLUX.2, Qwen-Image and Cosmos3); remove the cache options");
    }

    /// <summary>The log of a request's cache, or null when the request asks for none.</summary>
    public static StepCacheLog? Log(GenerationRequest r, int steps) =>
        r.TeaCache is not null ? new StepCacheLog("teacache", steps)
        : r.CacheDit is not null ? new StepCacheLog("cache-dit", steps)
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
