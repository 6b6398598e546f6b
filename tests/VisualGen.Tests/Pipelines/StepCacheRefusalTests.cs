using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Families without step caches refuse a request for one instead of running it uncached as if it had been
/// honoured (FLUX.2 and Cosmos3 used to ignore it silently).</summary>
public class StepCacheRefusalTests
{
    [Fact]
    public void A_request_for_a_step_cache_is_refused_naming_the_family_and_the_argument()
    {
        var plain = new GenerationRequest { Prompt = "a fox" };
        StepCaches.RefuseIn(plain, "FLUX.2");
        var e = Assert.Throws<GenerationException>(() => StepCaches.RefuseIn(plain with { TeaCache = new TeaCacheOptions(0.1) }, "FLUX.2"));
        Assert.Equal("teacache_thresh", e.Parameter);
        Assert.Contains("not implemented for FLUX.2", e.Message);
        e = Assert.Throws<GenerationException>(() => StepCaches.RefuseIn(plain with { CacheDit = new CacheDitOptions() }, "Cosmos3"));
        Assert.Equal("cache_dit", e.Parameter);
        Assert.Contains("not implemented for Cosmos3", e.Message);
    }

    [ConformanceTheory]
    [InlineData("flux2")]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("ltx2")]
    public void Pipelines_without_step_caches_refuse_them(string family)
    {
        ConformancePipelines.Validate(family, r => r);
        var e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, r => r with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Contains("step caches (TeaCache, Cache-DiT) are not implemented", e.Message);
        e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, r => r with { CacheDit = new CacheDitOptions() }));
        Assert.Equal("cache_dit", e.Parameter);
    }
}
