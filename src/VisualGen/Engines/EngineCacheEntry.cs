namespace VisualGen.Engines;

/// <summary>What <see cref="EngineCache.GetOrBuild"/> returns: the loaded engine (the caller disposes it), whether
/// the entry was already in the cache, its manifest and its folder.</summary>
public sealed record EngineCacheEntry(IEngine Engine, bool Hit, EngineManifest Manifest, string Directory);
