namespace VisualGen.Pipelines.Caching;

/// <summary>A pipeline with a configuration's <c>cache_config</c> as the step cache of every request that asks for none
/// (a request's own TeaCache or Cache-DiT still wins), and its <c>vae_tiling</c> for every request that leaves
/// <see cref="GenerationRequest.VaeTiling"/> unset: what the CLI and the server do with <c>--config</c>.</summary>
public sealed class CacheDefaultPipeline(IGenerationPipeline pipeline, TeaCacheOptions? teaCache, CacheDitOptions? cacheDit, bool? vaeTiling = null) : IGenerationPipeline
{
    public PipelineInfo Info => pipeline.Info;

    /// <summary>The TeaCache of requests that set no step cache; null: none.</summary>
    public TeaCacheOptions? TeaCache => teaCache;

    /// <summary>The Cache-DiT of requests that set no step cache; null: none.</summary>
    public CacheDitOptions? CacheDit => cacheDit;

    /// <summary>The VAE tiling of requests that leave it unset; null: the pipeline's own (off).</summary>
    public bool? VaeTiling => vaeTiling;

    GenerationRequest WithDefault(GenerationRequest r)
    {
        if (r is { TeaCache: null, CacheDit: null }) r = r with { TeaCache = teaCache, CacheDit = cacheDit };
        return r.VaeTiling is null && vaeTiling is not null ? r with { VaeTiling = vaeTiling } : r;
    }

    public void Validate(GenerationRequest request)
    {
        var r = WithDefault(request);
        try { pipeline.Validate(r); }
        // the configuration's ranges are checked when it is read; Fn + Bn against the model's blocks only here: name the
        // keys the file spells, not the request parameters it never wrote
        catch (GenerationException e) when (request.CacheDit is null && r.CacheDit is not null && e.Parameter.StartsWith("cache_dit_", StringComparison.Ordinal))
        {
            throw new GenerationException(e.Parameter, $"cache_config: {e.Message.Replace("cache_dit_fn", "Fn_compute_blocks").Replace("cache_dit_bn", "Bn_compute_blocks")}");
        }
    }

    public GenerationCost? EstimateCost(GenerationRequest request) => pipeline.EstimateCost(WithDefault(request));

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) => pipeline.GenerateAsync(WithDefault(request), progress, cancellationToken);

    public void Dispose() => pipeline.Dispose();
}
