using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Wan;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Cosmos3;

namespace VisualGen.Pipelines.Cosmos3;

/// <summary>
/// diffusers' Cosmos3OmniPipeline for vision: text-to-image (num_frames 1), text-to-video, and image-to-video (the first
/// latent frame anchored to the VAE-encoded image, its velocity zeroed). The prompt and the negative prompt get the
/// resolution and duration templates (inverse ones for the negative), the system prompt and the checkpoint's chat
/// template; their token ids go straight into the joint transformer with the patchified latents. Conditional and
/// unconditional passes run as two transformer calls (their text lengths differ), combined by classifier-free
/// guidance; UniPC steps the latents; the Wan 2.2 VAE decodes. With a step cache (TeaCache with explicit coefficients,
/// Cache-DiT) each pass predicts through its own cache state, from the transformer's parts. Engines come from an
/// <see cref="IEngineProvider"/> on first use.
/// </summary>
public sealed class Cosmos3Pipeline : IGenerationPipeline
{
    readonly PipelineEngines _engines;
    readonly Cosmos3ModelConfig _config;
    readonly Cosmos3PromptTokenizer _tokenizer;
    readonly ComponentConfig _schedulerConfig;
    readonly WanLatentStats _latentStats;

    public PipelineInfo Info { get; }

    public Cosmos3Pipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        var index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        _config = Cosmos3ModelConfig.Load(index);
        if (_config.UseNativeFlowSchedule)
            throw new CheckpointException(index.FilePath, "use_native_flow_schedule = true is not supported (its custom sigma schedule is not implemented)");
        _tokenizer = Cosmos3PromptTokenizer.Load(index.ComponentDirectory("text_tokenizer"), _config.UseSystemPrompt);
        _schedulerConfig = index.LoadConfig("scheduler");
        _latentStats = new WanLatentStats(_config.Vae);
        Info = new PipelineInfo
        {
            ClassName = index.ClassName,
            Family = model.Family,
            ProducesVideo = true,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            Arguments = Cosmos3RequestRules.Arguments,
            ImageOnlyForVideo = true,   // Cosmos3RequestRules: with num_frames 1 it makes an image from the prompt alone
            DefaultHeight = 720,
            DefaultWidth = 1280,
            DefaultNumFrames = 189,
            FrameMultiple = _config.VaeScaleTemporal,
            DefaultSteps = 35,
            SizeMultiple = _config.VaeScaleSpatial,
            FramesPerSecond = 24,
        };
    }

    IEngine Engine(string component) => _engines.Get(component);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>One sequence of the prompt's tokens and the video's 2×2 latent patches per call (cond and uncond run as
    /// separate passes); the Wan 2.2 VAE decoder at full resolution on a chunk and its two cached frames; every frame.</summary>
    public GenerationCost EstimateCost(GenerationRequest request)
    {
        var (height, width, frames, _, _, _, shape) = Resolve(request);
        var (prompt, negative) = TokenizePrompts(request);
        int p = _config.PatchSize;
        long tokens = Math.Max(prompt.Count, negative.Count) + shape[2] * ((shape[3] + p - 1) / p) * ((shape[4] + p - 1) / p);
        var t = _config.Transformer;
        return new GenerationCost
        {
            TransformerTokens = tokens, Batch = 1, Heads = t.Heads,
            ActivationBytes = GenerationCost.TransformerActivations(1, tokens, t.WidestDim) +
                GenerationCost.VaeDecoder(height, width, _config.Vae.DecoderDim * _config.Vae.DimMult[0], _config.VaeScaleTemporal + 2),
            OutputBytes = GenerationCost.Output(frames, height, width),
            VaeAttentionTokens = shape[3] * shape[4]   // the Wan 2.2 VAE decoder's mid block attends over one latent frame at a time,
        };
    }

    /// <summary>The request with diffusers' defaults filled in, validated.</summary>
    internal (int Height, int Width, int Frames, int Steps, double Fps, float Guidance, long[] Shape) Resolve(GenerationRequest r)
    {
        int height = r.Height ?? Info.DefaultHeight, width = r.Width ?? Info.DefaultWidth;
        int frames = r.NumFrames ?? Info.DefaultNumFrames, steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        double fps = r.Fps ?? 24.0;
        double guidance = r.GuidanceScale ?? 6.0;
        Cosmos3RequestRules.Validate(r, _config, Info, height, width, frames, steps, fps, guidance);
        SchedulerShift.Check(r, _schedulerConfig, "Cosmos3", steps);
        long[] shape = [1, _config.LatentChannels, (frames - 1) / _config.VaeScaleTemporal + 1, height / _config.VaeScaleSpatial, width / _config.VaeScaleSpatial];
        if (r.Latents is { } given) Cosmos3RequestRules.CheckLatents(given, shape);
        return (height, width, frames, steps, fps, (float)guidance, shape);
    }

    /// <summary>diffusers' tokenize_prompt for this request: (conditional, unconditional) token ids.</summary>
    public (IReadOnlyList<int> Prompt, IReadOnlyList<int> Negative) TokenizePrompts(GenerationRequest r)
    {
        var (height, width, frames, _, fps, _, _) = Resolve(r);
        return _tokenizer.Tokenize(r.Prompt, r.NegativePrompt, frames, height, width, fps);
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (prompt, negative) = TokenizePrompts(r);
        return Generate(r, prompt, negative, progress, ct);
    }

    /// <summary>Generates from already tokenized prompts (what diffusers' tokenize_prompt returns).</summary>
    internal GenerationResult Generate(GenerationRequest r, IReadOnlyList<int> promptIds, IReadOnlyList<int> negativeIds,
        IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (height, width, frames, steps, fps, guidance, shape) = Resolve(r);
        var grid = new Cosmos3Patchify(_config.LatentChannels, (int)shape[2], (int)shape[3], (int)shape[4], _config.PatchSize);
        bool imageToVideo = r.Image is not null;
        var conditionFrames = imageToVideo ? new HashSet<int> { 0 } : new HashSet<int>();

        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, steps));
        float[] latents;
        if (r.Latents is { } given) latents = (float[])given.Floats.Clone();   // image-to-video: frame 0 already holds the encoded image
        else
        {
            latents = LatentNoise.Gaussian(shape.Aggregate(1L, (a, b) => a * b), r.Seed ?? 0);
            if (imageToVideo)
            {
                var encoder = new WanVaeEncoder(Engine("vae.encoder_first"), () => Engine("vae.encoder_next"));
                Cosmos3ImageCondition.AnchorFirstFrame(latents, Cosmos3ImageCondition.EncodeFirstFrame(encoder, _latentStats, r.Image!, height, width, ct));
            }
        }
        ct.ThrowIfCancellationRequested();

        bool cfg = guidance != 1f;
        var condSequence = Cosmos3Sequence.Build(_config, promptIds, grid, fps, conditionFrames);
        var uncondSequence = cfg ? Cosmos3Sequence.Build(_config, negativeIds, grid, fps, conditionFrames) : null;

        var scheduler = SchedulerRegistry.Default.Create(_schedulerConfig, r.Shift);
        scheduler.SetTimesteps(steps);

        using var condInputs = Constant(condSequence);
        using var uncondInputs = uncondSequence is null ? null : Constant(uncondSequence);
        // step caches: one state per CFG pass (their text lengths differ, so they never share a residual)
        var cacheLog = StepCaches.Log(r, steps);
        using IStepCache? condCache = cacheLog is null ? null : StepCaches.Create(r, cacheLog, []);
        using IStepCache? uncondCache = cacheLog is null || uncondInputs is null ? null : StepCaches.Create(r, cacheLog, []);
        _engines.BeginStage("denoise");
        var transformer = Engine("transformer");
        var final = DenoisingLoop.Run(scheduler, latents, (step, t, sample) =>
        {
            var perStep = new Dictionary<string, HostTensor>
            {
                ["hidden_states"] = HostTensor.Float32(grid.Pack(sample), grid.Tokens, grid.Features),
                ["timestep"] = HostTensor.Float32([(float)t], 1),
            };
            var temb = new Lazy<float[]>(() => TransformerParts.HostTimeEmbedding(Engine($"transformer.{TransformerParts.TimeEmbedding}"), (float)t));
            float[] Pass(StepInputs inputs, IStepCache? cache, Cosmos3Sequence s) =>
                Velocity(cache is null ? inputs.Run(transformer, perStep, "sample", ct) : Cached(step, cache, transformer, inputs, perStep, () => temb.Value, ct), s, grid);
            var cond = Pass(condInputs, condCache, condSequence);
            if (uncondInputs is null) return cond;
            var uncond = Pass(uncondInputs, uncondCache, uncondSequence!);
            return Guidance.Combine(cond, uncond, guidance);
        }, progress, ct);

        var finalLatents = HostTensor.Float32(final, shape);
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", steps, steps));
        ct.ThrowIfCancellationRequested();
        var vaeLatents = _latentStats.Denormalize(finalLatents);
        var video = WanVaeDecoder.DecodeVideo(vaeLatents, _config.Vae, r.VaeTiling == true, Engine, progress, ct);
        ct.ThrowIfCancellationRequested();
        return new GenerationResult(finalLatents, VideoPostprocess.ToNumpyLayout(video), IsVideo: true, fps)
            { StepCache = cacheLog?.Report() };
    }

    /// <summary>One pass's prediction through its step cache: the step's packed latents and timestep uploaded where the
    /// transformer computes, the parts fed from them and the pass's constants, the prediction read back.</summary>
    HostTensor Cached(int step, IStepCache cache, IEngine transformer, StepInputs constants, Dictionary<string, HostTensor> perStep, Func<float[]> temb,
        CancellationToken ct)
    {
        var resident = transformer.AsResident();
        using var uploads = new EngineTensorScope();
        var inputs = uploads.Upload(resident, perStep);
        var parts = new PartsTransformer(part => part.Length == 0 ? transformer : Engine($"transformer.{part}"), constants, inputs,
            inputs["hidden_states"], temb, _config.NumLayers, ct);
        using var prediction = cache.Predict(step, parts);
        return prediction.ToHost();
    }

    static StepInputs Constant(Cosmos3Sequence s) => new(new Dictionary<string, HostTensor>
    {
        ["input_ids"] = HostTensor.Int64(s.InputIds, s.TextLength),
        ["position_ids"] = HostTensor.Float32(s.PositionIds, 3, s.SequenceLength),
        ["noisy_tokens"] = HostTensor.Float32(s.NoisyTokens, s.NoisyTokens.Length),
    });

    /// <summary>One pass's velocity in the latent layout from its token predictions, zero on conditioning frames
    /// (diffusers' _mask_velocity_predictions).</summary>
    static float[] Velocity(HostTensor prediction, Cosmos3Sequence s, Cosmos3Patchify grid)
    {
        var tokens = prediction.Floats;  // the prediction is this call's own
        for (int i = 0; i < grid.Tokens; i++)
            if (s.NoisyTokens[i] == 0f) Array.Clear(tokens, i * grid.Features, grid.Features);
        return grid.Unpack(tokens);
    }

    public void Dispose()
    {
        // engines belong to the provider, which disposes them
        _engines.Clear();
    }
}
