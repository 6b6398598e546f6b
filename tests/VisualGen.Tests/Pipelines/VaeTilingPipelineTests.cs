using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Vae;
using VisualGen.Tests.Demo;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Tiled VAE decoding through a whole pipeline (the built-in demo model: a tiny Wan text-to-video checkpoint on ONNX
/// Runtime CPU) and its options: a latent within one 256-pixel tile decodes exactly as untiled; a wider one decodes in
/// tiles (reported as progress) from the decoder graphs without their clamp; the configured default fills only requests
/// that leave it unset.
/// </summary>
public class VaeTilingPipelineTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    static GenerationRequest Request(int height, int width) => new()
    {
        Prompt = "a fox", Height = height, Width = width, NumFrames = 1, NumInferenceSteps = 2, MaxSequenceLength = 16, Seed = 3,
    };

    VisualGenPipeline Load(string cache, bool vaeTiling) =>
        VisualGenPipeline.Load(demo.Directory, new VisualGenOptions { EngineCacheDirectory = cache, VaeTiling = vaeTiling });

    [Fact]
    public async Task Within_one_tile_the_tiled_pipeline_output_equals_the_untiled_one_exactly()
    {
        string cache = Fixtures.TempDir("tiling-cache");
        using var plain = Load(cache, vaeTiling: false);
        using var tiled = Load(cache, vaeTiling: true);
        var a = await plain.GenerateAsync(Request(32, 48));
        var progress = new List<GenerationProgress>();
        var b = await tiled.GenerateAsync(Request(32, 48), new SyncProgress(progress.Add));
        Assert.Equal(a.Output.Shape, b.Output.Shape);
        Assert.Equal(a.Output.Floats, b.Output.Floats);
        Assert.Single(progress, p => p.Stage == "decode");
    }

    [Fact]
    public async Task A_latent_wider_than_one_tile_decodes_in_reported_tiles()
    {
        string cache = Fixtures.TempDir("tiling-cache");
        using var pipeline = Load(cache, vaeTiling: false);
        // 288 pixels wide: 36 latent columns > 32 (256 / 8): tiles start at columns 0 and 24, one row
        var progress = new List<GenerationProgress>();
        var tiled = await pipeline.GenerateAsync(Request(32, 288) with { VaeTiling = true }, new SyncProgress(progress.Add));
        var untiled = await pipeline.GenerateAsync(Request(32, 288));
        Assert.Equal(untiled.Output.Shape, tiled.Output.Shape);
        Assert.Equal(untiled.Latents.Floats, tiled.Latents.Floats);
        var tiles = progress.Where(p => p.Stage == "decode").Skip(1).Select(p => (p.Step, p.TotalSteps)).ToList();
        Assert.Equal([(1, 2), (2, 2)], tiles);
        // Wan clamps after blending; the tiles differ from the whole only near their seams
        Assert.All(tiled.Output.Floats, v => Assert.InRange(v, -1f, 1f));
        Assert.NotEqual(untiled.Output.Floats, tiled.Output.Floats);
    }

    [Fact]
    public void Defaults_fill_only_unset_requests()
    {
        var seen = new List<GenerationRequest>();
        using var defaults = new CacheDefaultPipeline(new Recording(seen), null, null, vaeTiling: true);
        defaults.Validate(Request(32, 32));
        defaults.Validate(Request(32, 32) with { VaeTiling = false });
        Assert.Equal([true, false], seen.Select(r => r.VaeTiling));
    }


    sealed class Recording(List<GenerationRequest> seen) : IGenerationPipeline
    {
        public PipelineInfo Info => throw new NotSupportedException();
        public void Validate(GenerationRequest request) => seen.Add(request);
        public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();
        public void Dispose() { }
    }
}
