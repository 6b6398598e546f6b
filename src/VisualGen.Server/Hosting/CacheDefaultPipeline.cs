using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Server.Hosting;

/// <summary>The served pipeline with the --config file's <c>cache_config</c> as the step cache of every request that
/// asks for none (a request's <c>teacache_thresh</c> still chooses its own).</summary>
public sealed class CacheDefaultPipeline(IGenerationPipeline pipeline, TeaCacheOptions? teaCache, CacheDitOptions? cacheDit) : IGenerationPipeline
{
    public PipelineInfo Info => pipeline.Info;

    GenerationRequest WithDefault(GenerationRequest r) =>
        r is { TeaCache: null, CacheDit: null } ? r with { TeaCache = teaCache, CacheDit = cacheDit } : r;

    public void Validate(GenerationRequest request) => pipeline.Validate(WithDefault(request));

    public GenerationCost? EstimateCost(GenerationRequest request) => pipeline.EstimateCost(WithDefault(request));

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) => pipeline.GenerateAsync(WithDefault(request), progress, cancellationToken);

    public void Dispose() => pipeline.Dispose();
}
