using VisualGen.Demo;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Library;

/// <summary>The library entry: <see cref="VisualGenPipeline"/>, <see cref="VisualGenOptions"/> and SaveAsync, on the demo model.</summary>
public sealed class VisualGenPipelineTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-lib");
    string Model => DemoModel.EnsureCreated(Path.Combine(_dir, "model"));
    VisualGenOptions Options => new() { EngineCacheDirectory = Path.Combine(_dir, "engines") };

    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public async Task Loads_generates_and_saves_png_frames_with_log_and_progress()
    {
        var lines = new List<string>();
        var steps = new List<GenerationProgress>();
        using var pipeline = VisualGenPipeline.Load(Model, Options with { Log = l => { lock (lines) lines.Add(l); } });
        Assert.Equal("WanPipeline", pipeline.Info.ClassName);
        Assert.True(pipeline.Info.ProducesVideo);
        Assert.Equal(Path.Combine(_dir, "engines"), pipeline.EngineCacheDirectory);

        var result = await pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("a fox") with { Seed = 1 }, new SyncProgress(steps.Add));
        Assert.True(result.IsVideo);
        Assert.NotEmpty(lines);
        Assert.Contains(steps, p => p.TotalSteps == 4 && p.Step == 4);

        var written = await result.SaveAsync(Path.Combine(_dir, "frames"), MediaFormat.Png);
        Assert.Equal([Path.Combine(_dir, "frames")], written);
        Assert.Equal(9, Directory.GetFiles(written[0], "*.png").Length);
    }

    [Fact]
    public async Task Generations_started_together_on_one_pipeline_equal_the_same_generations_run_one_at_a_time()
    {
        using var pipeline = VisualGenPipeline.Load(Model, Options);
        var requests = Enumerable.Range(0, 4).Select(i => VisualGenPipeline.DemoRequest($"prompt {i}") with
        {
            Seed = 10 + i, TeaCache = i % 2 == 0 ? new VisualGen.Pipelines.Caching.TeaCacheOptions(400) : null,
        }).ToList();
        var serial = new List<GenerationResult>();
        foreach (var r in requests) serial.Add(await pipeline.GenerateAsync(r));
        var together = await Task.WhenAll(requests.Select(r => Task.Run(() => pipeline.GenerateAsync(r))));
        for (int i = 0; i < requests.Count; i++)
        {
            Assert.Equal(serial[i].Output.Floats, together[i].Output.Floats);
            Assert.Equal(serial[i].StepCache?.ComputedText, together[i].StepCache?.ComputedText);
        }
    }

    [Fact]
    public async Task Dispose_during_a_generation_cancels_it_and_waits_for_it_before_freeing_the_engines()
    {
        // the engines were freed under the run: a native crash (SIGSEGV, an ONNX Runtime assertion) took the process down
        var pipeline = VisualGenPipeline.Load(Model, Options);
        await pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("warm") with { Seed = 1 });   // engines built
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int disposing = 0;
        // the demo's steps take well under a millisecond: step 2 holds until the Dispose below has begun (and cancelled)
        var run = Task.Run(() => pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("a fox") with { Seed = 2, NumInferenceSteps = 400 },
            new SyncProgress(p =>
            {
                if (p.Stage != "denoise" || p.Step != 2) return;
                started.TrySetResult();
                SpinWait.SpinUntil(() => Volatile.Read(ref disposing) == 1, TimeSpan.FromSeconds(30));
                Thread.Sleep(200);
            })));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Volatile.Write(ref disposing, 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        pipeline.Dispose();
        // waited for, not left running on freed engines: the step in flight held 200 ms after Dispose began (the task
        // itself completes a continuation after the generation's last engine use, so its IsCompleted may lag Dispose)
        Assert.True(clock.ElapsedMilliseconds >= 100, $"Dispose returned after {clock.ElapsedMilliseconds} ms, before the step in flight ended");
        var e = await Assert.ThrowsAsync<ObjectDisposedException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("disposed while this generation ran", e.Message);
        using var other = VisualGenPipeline.Load(Model, Options);
        Assert.Throws<ArgumentNullException>(() => other.Validate(null!));
        Assert.Contains("EngineCacheDirectory is empty", Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { EngineCacheDirectory = "" })).Message);
        var small = await other.GenerateAsync(VisualGenPipeline.DemoRequest("x") with { Seed = 4, NumInferenceSteps = 1 });
        Assert.Contains("'.gif' is not an extension VisualGen writes", (await Assert.ThrowsAsync<ArgumentException>(() => small.SaveAsync(Path.Combine(_dir, "x.gif")))).Message);
        Assert.Contains("unknown media format 99", (await Assert.ThrowsAsync<ArgumentException>(() => small.SaveAsync(Path.Combine(_dir, "x"), (MediaFormat)99))).Message);
        Assert.False(File.Exists(Path.Combine(_dir, "x.gif")));
        // an infinite guidance scale made every output value NaN
        var infinite = Assert.Throws<GenerationException>(() => other.Validate(VisualGenPipeline.DemoRequest("x") with { GuidanceScale = double.PositiveInfinity }));
        Assert.StartsWith("guidance_scale must be a finite number ≥ 0, got ", infinite.Message);
        // from the generation's own progress callback Dispose would wait for itself: refused
        InvalidOperationException? refused = null;
        await other.GenerateAsync(VisualGenPipeline.DemoRequest("x") with { Seed = 3 },
            new SyncProgress(p => { if (p.Stage == "denoise" && p.Step == 1) refused ??= Assert.Throws<InvalidOperationException>(other.Dispose); }));
        Assert.Contains("own progress callback", refused?.Message);
    }

    [Fact]
    public async Task Dispose_during_the_first_generation_s_engine_export_stops_the_export_and_leaves_no_temporary_folder()
    {
        // the provider had no token: Dispose waited for the component being exported to be built and cached, and the
        // generation saw the cancellation only at its next denoising step (as generate's Ctrl+C did: CliGenerateCancellationTests)
        string cache = Path.Combine(_dir, "engines");
        var exporting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int disposing = 0;
        var pipeline = VisualGenPipeline.Load(Model, Options with
        {
            Log = line =>
            {
                if (!line.StartsWith("exporting transformer", StringComparison.Ordinal)) return;
                exporting.TrySetResult();
                // the demo's export takes milliseconds: it holds here until the Dispose below has begun (and cancelled)
                SpinWait.SpinUntil(() => Volatile.Read(ref disposing) == 1, TimeSpan.FromSeconds(30));
                Thread.Sleep(200);
            },
        });
        var run = Task.Run(() => pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("a fox") with { Seed = 1 }));
        await exporting.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Volatile.Write(ref disposing, 1);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        pipeline.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"Dispose returned after {clock.ElapsedMilliseconds} ms");
        var e = await Assert.ThrowsAsync<ObjectDisposedException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("disposed while this generation ran", e.Message);
        Assert.Empty(Cli.CliBuildCancellationTests.Leftovers(cache));
        Assert.DoesNotContain(Cli.CliBuildCancellationTests.Entries(cache), entry => entry.StartsWith("transformer-", StringComparison.Ordinal));
        Assert.Contains(Cli.CliBuildCancellationTests.Entries(cache), entry => entry.StartsWith("text_encoder-", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Dispose_twice_is_harmless_and_generating_afterwards_is_refused()
    {
        var pipeline = VisualGenPipeline.Load(Model, Options);
        pipeline.Dispose();
        pipeline.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => pipeline.GenerateAsync(VisualGenPipeline.DemoRequest("x")));
    }

    [Fact]
    public void Load_refuses_an_uncreatable_engine_cache_and_a_quantization_config_it_cannot_load()
    {
        var cache = Assert.Throws<MediaException>(() => VisualGenPipeline.Load(Model, Options with { EngineCacheDirectory = "/proc/visualgen-test-cache" }));
        Assert.StartsWith("engine cache /proc/visualgen-test-cache: cannot create it", cache.Message);

        string model = Model;   // (Model re-creates the demo where its files changed)
        string config = Path.Combine(model, "transformer", "config.json");
        File.WriteAllText(config, File.ReadAllText(config).TrimEnd().TrimEnd('}') + ", \"quantization_config\": {\"quant_algo\": \"INT3\"}}");
        var e = Assert.Throws<VisualGen.Quantization.QuantizationException>(() => VisualGenPipeline.Load(model, Options));
        Assert.Equal($"{config}: quantization_config: unknown quant_algo 'INT3' (known: FP8, FP8_BLOCK_SCALES, NVFP4)", e.Message);
        Assert.False(Directory.Exists(Path.Combine(_dir, "engines")) && Directory.EnumerateFileSystemEntries(Path.Combine(_dir, "engines")).Any());
    }

    [Fact]
    public void A_missing_model_folder_says_what_to_pass()
    {
        var e = Assert.Throws<DirectoryNotFoundException>(() => VisualGenPipeline.Load(Path.Combine(_dir, "nowhere"), Options));
        Assert.Contains("model_index.json", e.Message);
    }

    [Fact]
    public void Bad_options_are_refused_before_loading_with_what_to_change()
    {
        Assert.Contains("ort-cpu, ort-cuda, native-cuda",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { Engine = "tensorrt" })).Message);
        Assert.Contains("Engine = \"native-cuda\"",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { Attention = AttentionPrecision.Fp8 })).Message);
        var sage = Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { Attention = AttentionPrecision.Sage })).Message;
        Assert.Contains("Sage attention runs on the native CUDA engine", sage);
        Assert.Contains("Engine = \"native-cuda\"", sage);
        Assert.Contains(".Bf16, .Fp8 or .Sage",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { Attention = (AttentionPrecision)7 })).Message);
        Assert.Contains("GpuMemoryBudget",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { GpuMemoryBudget = 0 })).Message);
        // Sage scale blocks without Sage attention would change nothing: refused, not ignored; an empty one is refused too
        Assert.Contains("SageBlocks (32x128) applies to Sage attention; set Attention = AttentionPrecision.Sage (it is Bf16)",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { SageBlocks = new(32, 128) })).Message);
        Assert.Contains("SageBlocks is empty",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { SageBlocks = default })).Message);
        Assert.Contains("must be one of 64, 128; got 96", Assert.Throws<ArgumentException>(() => new VisualGen.Quantization.SageScaleBlocks(16, 96)).Message);
        // a GPU memory budget on the CPU engine bounds nothing: refused, not ignored
        Assert.Contains("the ort-cpu engine holds none",
            Assert.Throws<ArgumentException>(() => VisualGenPipeline.Load(Model, Options with { Engine = "ort-cpu", GpuMemoryBudget = 1L << 30 })).Message);
        // a null configuration was a NullReferenceException from inside FromConfig
        Assert.Equal("config", Assert.Throws<ArgumentNullException>(() => VisualGenOptions.FromConfig(null!)).ParamName);
        Assert.Equal("yaml", Assert.Throws<ArgumentNullException>(() => VisualGen.Configuration.VisualGenConfig.Parse(null!, "run.yaml")).ParamName);
        // the tensors a request carries: null data was a NullReferenceException, a data/shape mismatch named no parameter
        Assert.Equal("data", Assert.Throws<ArgumentNullException>(() => VisualGen.Tensors.HostTensor.Float32(null!, 1, 3)).ParamName);
        Assert.Equal("data", Assert.Throws<ArgumentNullException>(() => VisualGen.Tensors.HostTensor.Int64(null!, 2)).ParamName);
        Assert.Equal("data", Assert.Throws<ArgumentException>(() => VisualGen.Tensors.HostTensor.Float32(new float[4], 1, 3)).ParamName);
        Assert.Equal("shape", Assert.Throws<ArgumentException>(() => VisualGen.Tensors.HostTensor.Float32(new float[3], -1, -3)).ParamName);
    }

    [Fact]
    public async Task A_configuration_s_cache_config_is_the_step_cache_of_requests_that_set_none()
    {
        // FromConfig dropped cache_config: the library generated without the file's step cache, silently, where the CLI
        // and the server apply it to every request that sets none
        var config = VisualGen.Configuration.VisualGenConfig.Parse("cache_config: {cache_backend: teacache, teacache_thresh: 400}\n", "run.yaml");
        var options = VisualGenOptions.FromConfig(config) with { EngineCacheDirectory = Options.EngineCacheDirectory };
        Assert.Equal(new VisualGen.Pipelines.Caching.TeaCacheOptions(400), options.TeaCache);
        using var pipeline = VisualGenPipeline.Load(Model, options);
        var request = VisualGenPipeline.DemoRequest("a fox") with { Seed = 1 };
        var defaulted = await pipeline.GenerateAsync(request);
        Assert.Equal("teacache", defaulted.StepCache?.Method);
        Assert.Equal(4, defaulted.StepCache!.Computed.Count);
        // a request's own step cache wins
        var own = await pipeline.GenerateAsync(request with { CacheDit = new(Fn: 1, Warmup: 1) });
        Assert.Equal("cache-dit", own.StepCache?.Method);
        Assert.Contains("cannot be combined", Assert.Throws<ArgumentException>(() =>
            VisualGenPipeline.Load(Model, options with { CacheDit = new() })).Message);
    }

    [Fact]
    public void The_cache_defaults_to_VISUALGEN_CACHE_or_the_home_cache_as_the_cli()
    {
        using var pipeline = VisualGenPipeline.Load(Model, new VisualGenOptions());
        string expected = Environment.GetEnvironmentVariable("VISUALGEN_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "visualgen", "engines");
        Assert.Equal(Path.GetFullPath(expected), pipeline.EngineCacheDirectory);
    }

    [Fact]
    public async Task SaveAsync_refuses_mp4_for_an_image_before_writing()
    {
        var image = new GenerationResult(Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), Tensors.HostTensor.Float32(new float[2 * 2 * 3], 1, 2, 2, 3), false, 0);
        await Assert.ThrowsAsync<MediaException>(() => image.SaveAsync(Path.Combine(_dir, "x.mp4")));
        Assert.Equal([Path.Combine(_dir, "x.png")], await image.SaveAsync(Path.Combine(_dir, "x")));
    }

    sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) => report(value);
    }
}
