using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>Cache-DiT through FluxPipeline, Flux2Pipeline and QwenImagePipeline on their fixtures: threshold 0 gives the goldens with
/// every step computed, a huge threshold caches every step after the warm-up, and Fn + Bn beyond the blocks is refused.</summary>
public class ImageFamilyCacheDitTests
{
    /// <param name="fn">flux1 has 1 double-stream + 2 single-stream blocks (F1B1 caches the first single-stream block);
    /// qwenimage has 2 blocks (F1B0: block 0 always runs, block 1 is the cached middle); flux2 is laid out as flux1.</param>
    [ConformanceTheory]
    [InlineData("flux1", 1, 1, 3)]
    [InlineData("flux2", 1, 1, 3)]
    [InlineData("qwenimage", 1, 0, 2)]
    public void Cache_dit_through_the_pipeline(string family, int fn, int bn, int blocks)
    {
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        var exact = pipeline.GenerateAsync(request with { CacheDit = new CacheDitOptions(Fn: fn, Bn: bn, Threshold: 0, Warmup: 0) }).GetAwaiter().GetResult();
        Assert.Equal([true, true, true], exact.StepCache!.Computed);
        ConformancePipelines.AssertMatchesGolden(family, exact);
        var cached = pipeline.GenerateAsync(request with { CacheDit = new CacheDitOptions(Fn: fn, Bn: bn, Threshold: 1e9, Warmup: 1) }).GetAwaiter().GetResult();
        Assert.Equal([true, false, false], cached.StepCache!.Computed);
        Assert.All(cached.Output.Floats, v => Assert.True(float.IsFinite(v)));
        Assert.True(Compare.MaxAbs(exact.Latents.Floats, cached.Latents.Floats) > 0, "cached steps changed nothing");
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request with { CacheDit = new CacheDitOptions(Fn: blocks, Bn: 1) }));
        Assert.Contains($"more than the transformer's {blocks} blocks", e.Message);
    }
}
