using Microsoft.Extensions.Logging.Abstractions;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>A server configured with a step cache its model's family cannot take as configured (TeaCache without
/// coefficients where the family has no table) or with tiled VAE decoding for a family that has none refuses to start,
/// naming the option, instead of starting and refusing every request.</summary>
public class ConfiguredDefaultsTests
{
    static ServerOptions Options(string family) => new()
    {
        ModelDir = Fixtures.Checkpoint(family),
        EngineCacheDir = ConformancePipelines.CacheDir,
        DataDir = Fixtures.TempDir("vg-server-defaults"),
    };

    [ConformanceFact]
    public void A_step_cache_default_a_family_cannot_take_stops_the_start()
    {
        // FLUX.2, Cosmos3 and LTX-2 have step caches but no TeaCache table: a TeaCache default without coefficients stops the start
        GenerationException e;
        foreach (var (family, className) in new[] { ("flux2", "Flux2Pipeline"), ("cosmos3_t2i", "Cosmos3OmniPipeline"), ("ltx2", "LTX2Pipeline") })
        {
            e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options(family) with { TeaCache = new TeaCacheOptions(0.1) }, NullLogger.Instance));
            Assert.Equal("teacache_coefficients", e.Parameter);
            Assert.Contains($"the configuration's defaults do not apply to {className}", e.Message);
            Assert.Contains("no shipped TeaCache coefficients", StartupError.Describe(e));
        }
    }

    [ConformanceFact]
    public void Defaults_are_checked_where_the_plain_request_is_refused_for_something_else()
    {
        // an image-to-video model refuses a request without an image before its step cache is checked, and the tiny Wan
        // checkpoints' rotary tables do not reach the default 832x480: the servers started, and every request was 400
        // naming a step-cache field the client never sent
        var e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options("wan21_i2v") with { CacheDit = new CacheDitOptions(Fn: 1000) }, NullLogger.Instance));
        Assert.Equal("cache_dit_fn", e.Parameter);
        Assert.Contains("the configuration's defaults do not apply to WanImageToVideoPipeline", e.Message);
        e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options("wan22_i2v_a14b") with { TeaCache = new TeaCacheOptions(0.1) }, NullLogger.Instance));
        Assert.StartsWith("teacache", e.Parameter);
        e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options("wan21_t2v") with { CacheDit = new CacheDitOptions(Fn: 1000) }, NullLogger.Instance));
        Assert.Equal("cache_dit_fn", e.Parameter);
        // a default the model takes still starts
        using var i2v = PipelineLoading.Load(Options("wan21_i2v") with { TeaCache = new TeaCacheOptions(0.1) }, NullLogger.Instance);
        Assert.Equal("WanImageToVideoPipeline", i2v.Info.ClassName);
    }

    [ConformanceFact]
    public void Defaults_a_family_takes_start_as_before()
    {
        using var pipeline = PipelineLoading.Load(Options("flux1") with { TeaCache = new TeaCacheOptions(0.1), VaeTiling = true }, NullLogger.Instance);
        Assert.Equal("FluxPipeline", pipeline.Info.ClassName);
        using var flux2 = PipelineLoading.Load(Options("flux2") with { VaeTiling = true }, NullLogger.Instance);   // every family tiles
        Assert.Equal("Flux2Pipeline", flux2.Info.ClassName);
    }
}
