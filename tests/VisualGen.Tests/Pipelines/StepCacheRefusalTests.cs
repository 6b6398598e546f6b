using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Every family takes step caches; those without a shipped TeaCache table (FLUX.2, Cosmos3, LTX-2) ask TeaCache
/// for its coefficients instead of running with some other family's.</summary>
public class StepCacheRefusalTests
{
    [Fact]
    public void TeaCache_without_a_table_asks_for_coefficients_naming_the_family()
    {
        var plain = new GenerationRequest { Prompt = "a fox" };
        StepCaches.ValidateWithoutTeaCacheTable(plain, 4, "LTX-2");
        StepCaches.ValidateWithoutTeaCacheTable(plain with { TeaCache = new TeaCacheOptions(0.1, [1.0, 0.0]) }, 4, "LTX-2");
        StepCaches.ValidateWithoutTeaCacheTable(plain with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 1) }, 4, "LTX-2");
        var e = Assert.Throws<GenerationException>(() => StepCaches.ValidateWithoutTeaCacheTable(plain with { TeaCache = new TeaCacheOptions(0.1) }, 4, "LTX-2"));
        Assert.Equal("teacache_coefficients", e.Parameter);
        Assert.Contains("LTX-2 has no shipped TeaCache coefficients", e.Message);
        // the checks every family makes still apply
        e = Assert.Throws<GenerationException>(() => StepCaches.ValidateWithoutTeaCacheTable(plain with { CacheDit = new CacheDitOptions(Fn: 4, Bn: 1) }, 4, "LTX-2"));
        Assert.Contains("more than the transformer's 4 blocks", e.Message);
    }

    [Theory]
    [InlineData(int.MaxValue, 1)]
    [InlineData(1, int.MaxValue)]
    [InlineData(int.MaxValue, int.MaxValue)]
    public void Cache_dit_fn_plus_bn_past_int_max_is_refused_not_wrapped(int fn, int bn)
    {
        // Fn + Bn overflowed int to a negative sum that passed the block check; the run then failed in the engine cache
        var r = new GenerationRequest { Prompt = "a fox", CacheDit = new CacheDitOptions(Fn: fn, Bn: bn) };
        var e = Assert.Throws<GenerationException>(() => StepCaches.Validate(r, 2));
        Assert.Equal("cache_dit_fn", e.Parameter);
        Assert.Contains($"= {(long)fn + bn} is more than the transformer's 2 blocks", e.Message);
    }

    [Theory]
    [InlineData(-1, 0.08, "cache_dit_warmup")]
    [InlineData(8, -1.0, "cache_dit_threshold")]
    public void Cache_dit_values_out_of_range_are_named_before_fn_plus_bn_against_the_blocks(int warmup, double threshold, string parameter)
    {
        // the default Fn (8) is more than a 2-block transformer's: that refusal hid the value actually wrong
        var r = new GenerationRequest { Prompt = "a fox", CacheDit = new CacheDitOptions(Threshold: threshold, Warmup: warmup) };
        Assert.Equal(parameter, Assert.Throws<GenerationException>(() => StepCaches.Validate(r, 2)).Parameter);
    }

    [ConformanceTheory]
    [InlineData("flux2")]
    [InlineData("cosmos3_t2i")]
    [InlineData("ltx2")]
    public void Families_without_a_table_take_cache_dit_and_ask_teacache_for_coefficients(string family)
    {
        ConformancePipelines.Validate(family, r => r with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 1) });
        ConformancePipelines.Validate(family, r => r with { TeaCache = new TeaCacheOptions(0.1, [1.0, 0.0]) });
        var e = Assert.Throws<GenerationException>(() => ConformancePipelines.Validate(family, r => r with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Equal("teacache_coefficients", e.Parameter);
        Assert.Contains("no shipped TeaCache coefficients", e.Message);
    }
}
