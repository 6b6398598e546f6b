using VisualGen.Pipelines.Caching;

namespace VisualGen.Tests.Pipelines;

/// <summary>The report of a step whose true-CFG branches each have a cache (FLUX.1, Qwen-Image, Cosmos3): Cache-DiT decides
/// per branch, and the qwenimage fixture at threshold 0.5 (Fn 1, no warm-up, 8 steps) had the conditional branch cache
/// step 1 while the negative computed, and the reverse at step 6; the report took whichever branch ran second.</summary>
public class StepCacheLogTests
{
    [Fact]
    public void A_step_is_computed_when_any_of_its_branches_computed_whatever_the_order()
    {
        var log = new StepCacheLog("cache-dit", 4);
        log.Record(0, true); log.Record(0, true);     // both branches computed
        log.Record(1, false); log.Record(1, true);    // cond cached, negative computed
        log.Record(2, true); log.Record(2, false);    // cond computed, negative cached
        log.Record(3, false); log.Record(3, false);   // both reused their residuals
        var report = log.Report();
        Assert.Equal([true, true, true, false], report.Computed);
        Assert.Equal("cache-dit: 3 of 4 steps computed, 1 skipped", report.ToString());
    }

    [Fact]
    public void Image_to_image_steps_are_logged_from_the_first_step_run()
    {
        var log = new StepCacheLog("teacache", 5, firstStep: 3);
        log.Record(3, true);
        log.Record(4, false);
        Assert.Equal("10", log.Report().ComputedText);
    }
}
