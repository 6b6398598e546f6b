namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Cache-DiT's DBCache (Dual Block Cache, github.com/vipshop/cache-dit, docs/DBCache.md): the first
/// <paramref name="Fn"/> blocks always run; when the residual they add differs from the one of the last fully
/// computed step by less than <paramref name="Threshold"/> (relative L1), the middle blocks are skipped and their cached
/// residual reused; the last <paramref name="Bn"/> blocks always run. The first <paramref name="Warmup"/> steps are
/// always computed, and at most <paramref name="MaxCachedSteps"/> steps are cached (null: no limit). Defaults are
/// cache-dit's documented ones (F8B0, threshold 0.08, 8 warm-up steps, no limit).
/// </summary>
public sealed record CacheDitOptions(int Fn = 8, int Bn = 0, double Threshold = 0.08, int Warmup = 8, int? MaxCachedSteps = null)
{
    /// <summary>Checks the options against a transformer of <paramref name="blocks"/> blocks.</summary>
    public void Validate(int blocks)
    {
        if (Fn < 1) throw new GenerationException("cache_dit_fn", $"cache_dit_fn must be at least 1 (the blocks whose residual is compared), got {Fn}");
        if (Bn < 0) throw new GenerationException("cache_dit_bn", $"cache_dit_bn must be ≥ 0, got {Bn}");
        if (!double.IsFinite(Threshold) || Threshold < 0)
            throw new GenerationException("cache_dit_threshold", $"cache_dit_threshold must be a finite number ≥ 0, got {Threshold}");
        if (Warmup < 0) throw new GenerationException("cache_dit_warmup", $"cache_dit_warmup must be ≥ 0, got {Warmup}");
        if (MaxCachedSteps is < 0)
            throw new GenerationException("cache_dit_max_cached", $"cache_dit_max_cached must be ≥ 0 (or unset for no limit), got {MaxCachedSteps}");
        // each value's own range first: the default Fn (8) is more than a small transformer's blocks, and that refusal hid a bad warm-up or threshold
        if ((long)Fn + Bn > blocks)   // long: int.MaxValue + 1 wrapped negative and passed
            throw new GenerationException("cache_dit_fn", $"cache_dit_fn + cache_dit_bn = {Fn} + {Bn} = {(long)Fn + Bn} is more than the transformer's {blocks} blocks");
    }
}
