using Microsoft.Extensions.Logging.Abstractions;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Server;

/// <summary>A server configured with a step cache or tiled VAE decoding for a model whose family has none refuses to
/// start, naming the option, instead of starting and refusing every request.</summary>
public class ConfiguredDefaultsTests
{
    static ServerOptions Options(string family) => new()
    {
        ModelDir = Fixtures.Checkpoint(family),
        EngineCacheDir = ConformancePipelines.CacheDir,
        DataDir = Fixtures.TempDir("vg-server-defaults"),
    };

    [ConformanceFact]
    public void A_step_cache_default_for_a_family_without_step_caches_stops_the_start()
    {
        var e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options("ltx2") with { TeaCache = new TeaCacheOptions(0.1) }, NullLogger.Instance));
        Assert.Equal("teacache_thresh", e.Parameter);
        Assert.Contains("the configuration's defaults do not apply to", e.Message);
        Assert.Contains("not implemented for LTX-2", StartupError.Describe(e));
        // FLUX.2 and Cosmos3 have step caches but no TeaCache table: a TeaCache default without coefficients stops the start too
        foreach (var (family, className) in new[] { ("flux2", "Flux2Pipeline"), ("cosmos3_t2i", "Cosmos3OmniPipeline") })
        {
            e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options(family) with { TeaCache = new TeaCacheOptions(0.1) }, NullLogger.Instance));
            Assert.Equal("teacache_coefficients", e.Parameter);
            Assert.Contains($"the configuration's defaults do not apply to {className}", e.Message);
        }
        e = Assert.Throws<GenerationException>(() => PipelineLoading.Load(Options("flux2") with { VaeTiling = true }, NullLogger.Instance));
        Assert.Equal("vae_tiling", e.Parameter);
    }

    [ConformanceFact]
    public void Defaults_a_family_takes_start_as_before()
    {
        using var pipeline = PipelineLoading.Load(Options("flux1") with { TeaCache = new TeaCacheOptions(0.1), VaeTiling = true }, NullLogger.Instance);
        Assert.Equal("FluxPipeline", pipeline.Info.ClassName);
    }
}
