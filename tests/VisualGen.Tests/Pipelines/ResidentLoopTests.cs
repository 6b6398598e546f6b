using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// The denoising loops (Wan, FLUX.1, Qwen-Image) where the engines compute (latents, guidance and scheduler state as engine tensors, stepped by
/// <see cref="ITensorArithmetic"/>) on ONNX Runtime CPU, whose engine tensors are host tensors: every transfer an engine
/// would make (uploads, downloads, host-tensor runs) is counted, and the loop's result is checked against the same loop
/// with a step cache that computes every step (TeaCache at threshold 0: the prediction through the cache's transformer
/// parts, each true-CFG branch on its own).
/// </summary>
public class ResidentLoopTests
{
    static GenerationResult Generate(IGenerationPipeline pipeline, GenerationRequest request) => pipeline.GenerateAsync(request).GetAwaiter().GetResult();

    [Fact]
    public async Task A_denoising_step_moves_nothing_between_host_and_engine()
    {
        string dir = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("resident-loop"), "wan"));
        var counts = new Transfers();
        using var provider = new CountingProvider(ConformancePipelines.Provider(), counts);
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        // the transfers made between the first step's end and the last step's end: steps 2..5
        var atStep = new Dictionary<int, (int, int, int)>();
        var progress = new SyncProgress(p => { if (p.Stage == "denoise") atStep[p.Step] = counts.Snapshot(); });
        var request = new GenerationRequest { Prompt = "a red fox", Height = 32, Width = 48, NumFrames = 5, NumInferenceSteps = 5, Seed = 7 };
        var result = await pipeline.GenerateAsync(request, progress);

        Assert.Equal(5, atStep.Keys.Max());
        Assert.True(counts.TransformerRuns >= 5, $"the transformer ran {counts.TransformerRuns} times");
        Assert.Equal(atStep[1], atStep[5]);   // uploads, downloads, host runs: none during steps 2..5
        Assert.True(counts.Snapshot().Item1 > 0, "the loop's inputs were uploaded before it");
        Assert.All(result.Latents.Floats, v => Assert.True(float.IsFinite(v)));
    }

    [ConformanceFact]
    public async Task A_flux_step_with_true_cfg_moves_nothing_between_host_and_engine_and_matches_the_cached_loop()
    {
        var counts = new Transfers();
        using var provider = new CountingProvider(ConformancePipelines.Provider(), counts);
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("flux1"), provider);
        var atStep = new Dictionary<int, (int, int, int)>();
        var progress = new SyncProgress(p => { if (p.Stage == "denoise") atStep[p.Step] = counts.Snapshot(); });
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse at dusk", NegativePrompt = "blurry", TrueCfgScale = 2.5, Height = 32, Width = 48,
            NumInferenceSteps = 4, Seed = 5,
        };
        var resident = await pipeline.GenerateAsync(request, progress);
        Assert.Equal(atStep[1], atStep[4]);   // two transformer calls per step, and no transfer
        Assert.True(counts.TransformerRuns >= 8, $"the transformer ran {counts.TransformerRuns} times");

        // a step cache computing every step (TeaCache at threshold 0) gives the same latents
        var cached = await pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(0) });
        Compare.Component(cached.Latents.Floats, resident.Latents.Floats, "flux loop vs the loop through a step cache", factor: 1e-5);
    }

    [ConformanceFact]
    public async Task A_qwen_image_step_with_norm_rescaled_true_cfg_moves_nothing_between_host_and_engine_and_matches_the_cached_loop()
    {
        var counts = new Transfers();
        using var provider = new CountingProvider(ConformancePipelines.Provider(), counts);
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("qwenimage"), provider);
        var atStep = new Dictionary<int, (int, int, int)>();
        var progress = new SyncProgress(p => { if (p.Stage == "denoise") atStep[p.Step] = counts.Snapshot(); });
        // prompts of different lengths: the two branches' text embeddings differ in length
        var request = new GenerationRequest
        {
            Prompt = "a lighthouse on a cliff at dusk, waves below", NegativePrompt = "blurry", TrueCfgScale = 4, Height = 64, Width = 48,
            NumInferenceSteps = 4, Seed = 5,
        };
        var resident = await pipeline.GenerateAsync(request, progress);
        Assert.Equal(atStep[1], atStep[4]);   // two transformer calls, the combination and the rescale per step, and no transfer
        Assert.Equal(8, counts.TransformerRuns);
        Assert.Null(resident.StepCache);

        // a step cache computing every step (TeaCache at threshold 0) gives the same latents
        var cached = await pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(0) });
        Assert.Equal("teacache: 4 of 4 steps computed, 0 skipped", cached.StepCache!.ToString());
        Compare.Component(cached.Latents.Floats, resident.Latents.Floats, "qwen-image loop vs the loop through a step cache", factor: 1e-5);
    }

    [ConformanceFact]
    public async Task Qwen_image_prompts_of_equal_length_run_as_one_batch_per_step_and_match_the_two_calls_of_the_cached_loop()
    {
        const string prompt = "a red fox", negative = "a sly fox";
        var tokenizer = VisualGen.Tokenizers.QwenImage.QwenImagePromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint("qwenimage"), "tokenizer"));
        Assert.Equal(tokenizer.Tokenize(prompt).Length, tokenizer.Tokenize(negative).Length);   // the case under test: equal text lengths
        var counts = new Transfers();
        using var provider = new CountingProvider(ConformancePipelines.Provider(), counts);
        using var pipeline = ModelFamilies.CreateRegistry().Create(Fixtures.Checkpoint("qwenimage"), provider);
        var atStep = new Dictionary<int, (int, int, int)>();
        var progress = new SyncProgress(p => { if (p.Stage == "denoise") atStep[p.Step] = counts.Snapshot(); });
        var request = new GenerationRequest { Prompt = prompt, NegativePrompt = negative, TrueCfgScale = 3, Height = 32, Width = 64, NumInferenceSteps = 4, Seed = 9 };
        var resident = await pipeline.GenerateAsync(request, progress);
        Assert.Equal(atStep[1], atStep[4]);
        Assert.Equal(4, counts.TransformerRuns);   // one call per step: the two prompts as a batch of two
        // a step cache runs the branches apart (one cache state each): two calls per step, the same latents
        var cached = await pipeline.GenerateAsync(request with { TeaCache = new TeaCacheOptions(0) });
        Compare.Component(cached.Latents.Floats, resident.Latents.Floats, "qwen-image batched loop vs the cached loop's two calls", factor: 1e-5);
    }

    [Fact]
    public void The_loop_matches_the_loop_through_a_step_cache_that_computes_every_step()
    {
        string dir = VisualGen.Demo.DemoModel.EnsureCreated(Path.Combine(Fixtures.TempDir("resident-loop"), "wan"));
        using var provider = ConformancePipelines.Provider();
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        var request = new GenerationRequest { Prompt = "a red fox", NegativePrompt = "blurry", Height = 32, Width = 48, NumFrames = 5, NumInferenceSteps = 6, Seed = 11, GuidanceScale = 4.5 };
        // explicit initial latents: the loop steps its own copy, the caller's array stays as it was
        var given = new float[16 * 2 * 4 * 6];
        var rng = new Random(3);
        for (int i = 0; i < given.Length; i++) given[i] = (float)(rng.NextDouble() * 2 - 1);
        var before = (float[])given.Clone();
        request = request with { Latents = HostTensor.Float32(given, 1, 16, 2, 4, 6) };
        var resident = Generate(pipeline, request);
        Assert.Equal(before, given);
        // TeaCache with threshold 0 computes every step, through the cache's transformer parts
        var cached = Generate(pipeline, request with { TeaCache = new TeaCacheOptions(0) });
        Assert.Null(resident.StepCache);
        Assert.Equal("teacache: 6 of 6 steps computed, 0 skipped", cached.StepCache!.ToString());
        Compare.Component(cached.Latents.Floats, resident.Latents.Floats, "loop vs the loop through a step cache", factor: 1e-5);
    }


    sealed class Transfers
    {
        int _uploads, _downloads, _hostRuns;
        public int TransformerRuns;
        public void Upload() => Interlocked.Increment(ref _uploads);
        public void Download() => Interlocked.Increment(ref _downloads);
        public void HostRun() => Interlocked.Increment(ref _hostRuns);
        public (int, int, int) Snapshot() => (_uploads, _downloads, _hostRuns);
    }

    sealed class CountingProvider(IEngineProvider inner, Transfers counts) : IEngineProvider, IDisposable
    {
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress) =>
            new CountingEngine(inner.GetEngine(modelPath, component, progress), component, counts);
        public void Release(IEngine engine) { }
        public void Dispose() => (inner as IDisposable)?.Dispose();
    }

    sealed class CountingEngine(IEngine inner, string component, Transfers counts) : IResidentEngine
    {
        readonly IResidentEngine _resident = inner.AsResident();
        public EngineManifest Manifest => inner.Manifest;
        public ITensorArithmetic Arithmetic => new Unwrapping(_resident.Arithmetic);

        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs)
        {
            counts.HostRun();
            return inner.Run(inputs);
        }

        public IEngineTensor Upload(HostTensor tensor)
        {
            counts.Upload();
            return new CountingTensor(_resident.Upload(tensor), counts);
        }

        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs)
        {
            if (component == "transformer") Interlocked.Increment(ref counts.TransformerRuns);
            var unwrapped = inputs.ToDictionary(kv => kv.Key, kv => kv.Value is CountingTensor c ? c.Inner : kv.Value);
            return _resident.RunResident(unwrapped).ToDictionary(kv => kv.Key, kv => (IEngineTensor)new CountingTensor(kv.Value, counts));
        }

        public void Dispose() { }
    }

    /// <summary>The engine's arithmetic on the tensors inside <see cref="CountingTensor"/>s (arithmetic moves no data).</summary>
    sealed class Unwrapping(ITensorArithmetic inner) : ITensorArithmetic
    {
        public IEngineTensor Allocate(long[] shape) => inner.Allocate(shape);
        public void Combine(IEngineTensor destination, long destinationOffset, long count, ReadOnlySpan<LinearTerm> terms)
        {
            var unwrapped = new LinearTerm[terms.Length];
            for (int k = 0; k < terms.Length; k++) unwrapped[k] = terms[k] with { Source = Unwrap(terms[k].Source) };
            inner.Combine(Unwrap(destination), destinationOffset, count, unwrapped);
        }
        public void RescaleRowNorms(IEngineTensor destination, IEngineTensor source, IEngineTensor reference, long rowLength) =>
            inner.RescaleRowNorms(Unwrap(destination), Unwrap(source), Unwrap(reference), rowLength);
        public (double Difference, double Reference) L1Distance(IEngineTensor current, IEngineTensor previous) =>
            inner.L1Distance(Unwrap(current), Unwrap(previous));
        static IEngineTensor Unwrap(IEngineTensor t) => t is CountingTensor c ? c.Inner : t;
    }

    /// <summary>An engine tensor that counts its downloads.</summary>
    sealed class CountingTensor(IEngineTensor inner, Transfers counts) : IEngineTensor
    {
        public IEngineTensor Inner => inner;
        public long[] Shape => inner.Shape;
        public TensorDType DType => inner.DType;
        public HostTensor ToHost()
        {
            counts.Download();
            return inner.ToHost();
        }
        public void Dispose() => inner.Dispose();
    }
}
