using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Step caches through the pipelines of the families without a shipped TeaCache table whose loops run on the host
/// (Cosmos3: one cache state per CFG pass; LTX-2: its main CFG call): Cache-DiT and TeaCache (explicit coefficients) at
/// threshold 0 give the fixtures' goldens with every step computed, huge thresholds skip every step they may, and a
/// Cache-DiT beyond the blocks or a TeaCache without coefficients is refused.
/// </summary>
public class StepCachesWithoutTableTests
{
    /// <param name="family">each has 2 blocks and 3 steps: F1B0 runs block 0 always and caches block 1.</param>
    [ConformanceTheory]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    [InlineData("ltx2")]
    public void Step_caches_through_the_pipeline(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);

        var exact = pipeline.GenerateAsync(request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 0, Warmup: 0) }).GetAwaiter().GetResult();
        Assert.Equal([true, true, true], exact.StepCache!.Computed);
        ConformancePipelines.AssertMatchesGolden(family, exact);
        var cached = pipeline.GenerateAsync(request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 1e9, Warmup: 1) }).GetAwaiter().GetResult();
        Assert.Equal([true, false, false], cached.StepCache!.Computed);
        Assert.All(cached.Output.Floats, v => Assert.True(float.IsFinite(v)));
        Assert.True(Compare.MaxAbs(exact.Latents.Floats, cached.Latents.Floats) > 0, "cached steps changed nothing");

        var tea = pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(0, [1.0, 0.0]) }).GetAwaiter().GetResult();
        Assert.Equal([true, true, true], tea.StepCache!.Computed);
        ConformancePipelines.AssertMatchesGolden(family, tea);
        // first and last steps always run; the middle one reuses the first step's residual
        var skipped = pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(1e9, [1.0, 0.0]) }).GetAwaiter().GetResult();
        Assert.Equal([true, false, true], skipped.StepCache!.Computed);
        Assert.True(Compare.MaxAbs(tea.Latents.Floats, skipped.Latents.Floats) > 0, "the skipped step changed nothing");

        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request with { CacheDit = new CacheDitOptions(Fn: 2, Bn: 1) }));
        Assert.Contains("more than the transformer's 2 blocks", e.Message);
        e = Assert.Throws<GenerationException>(() => pipeline.Validate(request with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Equal("teacache_coefficients", e.Parameter);
    }
}
