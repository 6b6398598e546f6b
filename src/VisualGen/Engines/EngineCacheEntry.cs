namespace VisualGen.Engines;

/// <summary>What <see cref="EngineCache.GetOrBuild"/> returns: the loaded engine (the caller disposes it), whether
/// the entry was already in the cache, its manifest and its folder. <see cref="InUse"/> holds the entry's use lock
/// (null on a cache that cannot be written): the caller disposes it with the engine, and until then the entry is not pruned.</summary>
public sealed record EngineCacheEntry(IEngine Engine, bool Hit, EngineManifest Manifest, string Directory)
{
    public IDisposable? InUse { get; init; }
}
