using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Families without step caches (LTX-2) refuse a request for one instead of running it uncached as if it had
/// been honoured; FLUX.2, which has no shipped TeaCache coefficients, asks for them (Cosmos3: Cosmos3StepCacheTests).</summary>
public class StepCacheRefusalTests
{
    [Fact]
    public void A_request_for_a_step_cache_is_refused_naming_the_family_and_the_argument()
    {
        var plain = new GenerationRequest { Prompt = "a fox" };
        StepCaches.RefuseIn(plain, "LTX-2");
        var e = Assert.Throws<GenerationException>(() => StepCaches.RefuseIn(plain with { TeaCache = new TeaCacheOptions(0.1) }, "LTX-2"));
        Assert.Equal("teacache_thresh", e.Parameter);
        Assert.Contains("not implemented for LTX-2", e.Message);
        e = Assert.Throws<GenerationException>(() => StepCaches.RefuseIn(plain with { CacheDit = new CacheDitOptions() }, "Cosmos3"));
        Assert.Equal("cache_dit", e.Parameter);
        Assert.Contains("not implemented for Cosmos3", e.Message);
    }

    [ConformanceTheory]
    [InlineData("ltx2")]
    public void Pipelines_without_step_caches_refuse_them(string family)
    {
        ConformancePipelines.Validate(family, r => r);
        var e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, r => r with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Contains("step caches (TeaCache, Cache-DiT) are not implemented", e.Message);
        e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, r => r with { CacheDit = new CacheDitOptions() }));
        Assert.Equal("cache_dit", e.Parameter);
    }

    [ConformanceFact]
    public void Flux2_takes_cache_dit_and_asks_teacache_for_its_coefficients()
    {
        ConformancePipelines.Validate("flux2", r => r with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 1) });
        ConformancePipelines.Validate("flux2", r => r with { TeaCache = new TeaCacheOptions(0.1, [1.0, 0.0]) });
        var e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate("flux2", r => r with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Equal("teacache_coefficients", e.Parameter);
        Assert.Contains("no shipped TeaCache coefficients", e.Message);
    }
}
