using System.Globalization;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines.Caching;

namespace VisualGen.Cli;

/// <summary><c>generate</c>'s step-cache flags: TeaCache (<c>--teacache-thresh</c>, <c>--teacache-coefficients</c>) and
/// Cache-DiT's DBCache (<c>--cache-dit-*</c>; any of them turns it on, the others keep cache-dit's defaults).</summary>
public static class StepCacheFlags
{
    public static readonly string[] Names =
        ["teacache-thresh", "teacache-coefficients", "cache-dit-fn", "cache-dit-bn", "cache-dit-threshold", "cache-dit-warmup", "cache-dit-max-cached"];

    public static TeaCacheOptions? TeaCache(CommandLine cl)
    {
        if (!cl.Has("teacache-thresh"))
            return cl.Has("teacache-coefficients") ? throw new UsageException("--teacache-coefficients needs --teacache-thresh") : null;
        return new TeaCacheOptions(cl.Double("teacache-thresh")!.Value, Coefficients(cl.String("teacache-coefficients")));
    }

    public static CacheDitOptions? CacheDit(CommandLine cl)
    {
        if (!Names.Where(n => n.StartsWith("cache-dit-", StringComparison.Ordinal)).Any(cl.Has)) return null;
        var d = new CacheDitOptions();
        int? maxCached = cl.Int("cache-dit-max-cached");
        if (maxCached is < -1) throw new UsageException($"--cache-dit-max-cached must be -1 (no limit) or ≥ 0, got {maxCached}");
        return new CacheDitOptions(
            Fn: cl.Int("cache-dit-fn") ?? d.Fn,
            Bn: cl.Int("cache-dit-bn") ?? d.Bn,
            Threshold: cl.Double("cache-dit-threshold") ?? d.Threshold,
            Warmup: cl.Int("cache-dit-warmup") ?? d.Warmup,
            MaxCachedSteps: maxCached is null or -1 ? d.MaxCachedSteps : maxCached);
    }

    /// <summary>"a,b,c" → [a, b, c]; null when the flag is absent.</summary>
    static double[]? Coefficients(string? text)
    {
        if (text is null) return null;
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        if (parts.All(p => p.Length == 0))
            throw new UsageException("--teacache-coefficients must list numbers separated by commas (highest power first), got nothing");
        return [.. parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw new UsageException($"--teacache-coefficients: '{p}' is not a number (expected numbers separated by commas, highest power first)"))];
    }
}
