using VisualGen.Checkpoints;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Wan;
using VisualGen.Pipelines.Caching;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// TeaCache and Cache-DiT through WanPipeline on a random checkpoint the test builds (3 heads of 12, four blocks: not
/// the fixture's configuration) and on the Wan 2.2 A14B fixture (two experts, one cache state each). The skip patterns
/// follow from the rules alone: a constant rescaling polynomial makes TeaCache's accumulator count steps, and a huge
/// Cache-DiT threshold caches every step the warm-up and the cached-step limit allow.
/// </summary>
public class StepCachePipelineTests(ITestOutputHelper output)
{
    static GenerationResult Generate(IGenerationPipeline pipeline, GenerationRequest request) => pipeline.GenerateAsync(request).GetAwaiter().GetResult();

    static bool[] Pattern(string ones) => [.. ones.Select(c => c == '1')];

    [ConformanceFact]
    public void Wan_random_checkpoint_teacache_and_cache_dit_skip_as_their_rules_say()
    {
        string dir = OtherConfigurationCheckpoints.Wan21(layers: 4);
        using var cleanup = new DeletedOnDispose(dir);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = "a red fox in the snow", Height = 16, Width = 32, NumFrames = 5, NumInferenceSteps = 6, Seed = 3 };
        var plain = Generate(pipeline, request);
        Assert.Null(plain.StepCache);

        // TeaCache, threshold 0: every step computes the whole transformer, so the result is the uncached one exactly
        var tea0 = Generate(pipeline, request with { TeaCache = new TeaCacheOptions(0) });
        Assert.Equal(Pattern("111111"), tea0.StepCache!.Computed);
        Assert.Equal(plain.Latents.Floats, tea0.Latents.Floats);

        // poly = 1: the accumulator grows by one per step; threshold 2.5 → compute, skip, skip, compute (3 ≥ 2.5), skip, last
        var tea = Generate(pipeline, request with { TeaCache = new TeaCacheOptions(2.5, [1.0]) });
        Assert.Equal(Pattern("100101"), tea.StepCache!.Computed);
        Assert.Equal("teacache: 3 of 6 steps computed, 3 skipped", tea.StepCache.ToString());
        AssertFiniteAndDifferent(plain, tea, "teacache");

        // Cache-DiT F1B1, threshold 0: every step runs all the parts, which compose to the whole transformer
        var dit0 = Generate(pipeline, request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 1, Threshold: 0, Warmup: 0) });
        Assert.Equal(Pattern("111111"), dit0.StepCache!.Computed);
        output.WriteLine($"cache-dit threshold 0 vs no cache: max abs {Compare.MaxAbs(plain.Latents.Floats, dit0.Latents.Floats):g3}");
        Compare.Component(plain.Latents.Floats, dit0.Latents.Floats, "cache-dit threshold 0", factor: 1e-6);

        // a huge threshold: warm-up 2 computes steps 0 and 1, then 2 cached steps at most, then computed again
        var dit = Generate(pipeline, request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 1, Threshold: 1e9, Warmup: 2, MaxCachedSteps: 2) });
        Assert.Equal(Pattern("110011"), dit.StepCache!.Computed);
        Assert.Equal("cache-dit", dit.StepCache.Method);
        AssertFiniteAndDifferent(plain, dit, "cache-dit");

        // Fn + Bn beyond the four blocks is refused before anything runs
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request with { CacheDit = new CacheDitOptions(Fn: 3, Bn: 2) }));
        Assert.Equal("cache_dit_fn", e.Parameter);
        Assert.Contains("more than the transformer's 4 blocks", e.Message);
    }

    [ConformanceFact]
    public void Wan_a14b_experts_keep_their_own_cache_state()
    {
        // wan22_t2v_a14b: 4 steps at t = 999, 937 (transformer) and 833, 625 (transformer_2, below 0.875 · 1000)
        using var golden = Fixtures.Golden("wan22_t2v_a14b");
        var request = ConformancePipelines.RequestFromGolden("wan22_t2v_a14b", golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("wan22_t2v_a14b"), provider);
        // TeaCache never reaching its threshold: each expert's first step computes (no residual of its own yet), and the last
        var tea = Generate(pipeline, request with { TeaCache = new TeaCacheOptions(1e9, [1.0]) });
        Assert.Equal(Pattern("1011"), tea.StepCache!.Computed);
        // Cache-DiT caching whatever it may: again each expert's first step computes
        var dit = Generate(pipeline, request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 1e9, Warmup: 0) });
        Assert.Equal(Pattern("1010"), dit.StepCache!.Computed);
        Assert.All(tea.Output.Floats.Concat(dit.Output.Floats), v => Assert.True(float.IsFinite(v)));
    }

    [ConformanceTheory]
    [InlineData("wan21_i2v")]
    [InlineData("wan22_ti2v_5b")]
    [InlineData("wan22_i2v_a14b")]
    public void Wan_variants_with_caches_that_compute_every_step_give_the_goldens(string family)
    {
        // I2V (image tokens and condition channels reach the block parts), TI2V-5B (per-token timesteps in every part)
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        // Wan 2.2 has no shipped TeaCache table: its TeaCache takes the request's coefficients (threshold 0 computes every step)
        IReadOnlyList<double>? coefficients = family == "wan21_i2v" ? null : [1.0];
        foreach (var cached in new[] { request with { TeaCache = new TeaCacheOptions(0, coefficients) }, request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 0, Warmup: 0) } })
        {
            var result = Generate(pipeline, cached);
            Assert.All(result.StepCache!.Computed, Assert.True);
            ConformancePipelines.AssertMatchesGolden(family, result);
        }
        // and caching every step it may still runs to a finite result
        var skipping = Generate(pipeline, request with { CacheDit = new CacheDitOptions(Fn: 1, Bn: 0, Threshold: 1e9, Warmup: 1) });
        Assert.Contains(false, skipping.StepCache!.Computed);
        Assert.All(skipping.Output.Floats, v => Assert.True(float.IsFinite(v)));
    }

    [ConformanceTheory]
    [InlineData("wan22_ti2v_5b", "Wan 2.2 TI2V")]
    [InlineData("wan22_i2v_a14b", "Wan 2.2 A14B")]
    [InlineData("wan22_t2v_a14b", "Wan 2.2 A14B")]
    public void Wan_2_2_teacache_without_coefficients_is_refused(string family, string variant)
    {
        // TensorRT-LLM ships no TeaCache table for Wan 2.2 (it refuses TeaCache on A14B): the 2.1 tables were used unasked
        using var golden = Fixtures.Golden(family);
        var request = ConformancePipelines.RequestFromGolden(family, golden);
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint(family), provider);
        var e = Assert.Throws<GenerationException>(() => pipeline.Validate(request with { TeaCache = new TeaCacheOptions(0.1) }));
        Assert.Equal("teacache_coefficients", e.Parameter);
        Assert.StartsWith($"{variant} (", e.Message);
        Assert.EndsWith("has no shipped TeaCache coefficients (TensorRT-LLM's Wan tables cover Wan 2.1 text- and image-to-video): pass teacache_coefficients, or use Cache-DiT", e.Message);
        pipeline.Validate(request with { TeaCache = new TeaCacheOptions(0.1, [1.0]) });
    }

    [ConformanceFact]
    public void Wan_2_1_tables_follow_tensorrt_llm()
    {
        // text-to-video by width; Wan 2.1 image-to-video by the checkpoint's name (480P / 720P), else by the request's size
        var t2v = WanModelConfig.Load(ModelIndex.Load(Fixtures.Checkpoint("wan21_t2v")));
        Assert.Same(TeaCacheCoefficients.Wan1_3B, TeaCacheCoefficients.Wan(t2v, "Wan2.1-T2V-1.3B-Diffusers", 480, 832));
        Assert.Same(TeaCacheCoefficients.Wan14B, TeaCacheCoefficients.Wan(t2v with { InnerDim = 5120 }, "Wan2.1-T2V-14B-Diffusers", 720, 1280));
        var i2v = WanModelConfig.Load(ModelIndex.Load(Fixtures.Checkpoint("wan21_i2v")));
        Assert.Same(TeaCacheCoefficients.WanI2V720P, TeaCacheCoefficients.Wan(i2v, "Wan2.1-I2V-14B-720P-Diffusers", 480, 832));
        Assert.Same(TeaCacheCoefficients.WanI2V480P, TeaCacheCoefficients.Wan(i2v, "Wan2.1-I2V-14B-480P-Diffusers", 720, 1280));
        Assert.Same(TeaCacheCoefficients.WanI2V480P, TeaCacheCoefficients.Wan(i2v, "my-i2v", 480, 832));
        Assert.Same(TeaCacheCoefficients.WanI2V720P, TeaCacheCoefficients.Wan(i2v, "my-i2v", 720, 1280));
        Assert.Null(TeaCacheCoefficients.Wan(WanModelConfig.Load(ModelIndex.Load(Fixtures.Checkpoint("wan22_i2v_a14b"))), "Wan2.2-I2V-A14B", 480, 832));
    }

    static void AssertFiniteAndDifferent(GenerationResult plain, GenerationResult cached, string what)
    {
        Assert.All(cached.Output.Floats, v => Assert.True(float.IsFinite(v) && v >= 0 && v <= 1, $"{what}: output {v}"));
        Assert.True(Compare.MaxAbs(plain.Latents.Floats, cached.Latents.Floats) > 0, $"{what} skipped steps yet changed nothing");
    }
}
