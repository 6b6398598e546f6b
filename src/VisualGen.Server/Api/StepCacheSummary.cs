using VisualGen.Pipelines.Caching;

namespace VisualGen.Server.Api;

/// <summary>
/// What a generation's step cache did, as a video object's and an image's <c>step_cache</c>: the method
/// ("teacache", "cache_dit"), the steps whose transformer ran and those that reused a cached residual, and one
/// character a step ("1" computed, "0" skipped), as the CLI prints it.
/// </summary>
public sealed record StepCacheSummary(string Method, int ComputedSteps, int SkippedSteps, string Computed)
{
    /// <summary>The method as cache_config's <c>cache_backend</c> spells it ("cache_dit"; the report's "cache-dit" is the CLI's).</summary>
    public static StepCacheSummary? Of(StepCacheReport? report) =>
        report is null ? null : new(report.Method.Replace('-', '_'), report.ComputedSteps, report.SkippedSteps, report.ComputedText);
}
