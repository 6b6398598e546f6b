using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Images;
using VisualGen.Pipelines.Vae;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Wan;

namespace VisualGen.Pipelines.Wan;

/// <summary>
/// diffusers' WanPipeline (Wan 2.1 text-to-video; Wan 2.2 A14B with two experts; Wan 2.2 TI2V-5B with per-token
/// timesteps) and WanImageToVideoPipeline (Wan 2.1 I2V: CLIP image tokens and a VAE-encoded first-frame condition):
/// prompt encoding with UMT5, classifier-free guidance batched into one transformer call, the shared denoising loop,
/// and VAE decoding. The task is the conditioning, not a subclass. Engines come from an <see cref="IEngineProvider"/> on first use.
/// </summary>
public sealed class WanPipeline : IGenerationPipeline
{
    readonly ModelIndex _index;
    readonly PipelineEngines _engines;
    readonly WanModelConfig _config;
    readonly WanPromptTokenizer _tokenizer;
    readonly ComponentConfig _schedulerConfig;
    readonly WanLatentStats _latentStats;

    public PipelineInfo Info { get; }

    public WanPipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        _index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        _config = WanModelConfig.Load(_index);
        _tokenizer = WanPromptTokenizer.Load(_index.ComponentDirectory("tokenizer"));
        _schedulerConfig = _index.LoadConfig("scheduler");
        _latentStats = new WanLatentStats(_config.Vae);
        Info = new PipelineInfo
        {
            ClassName = _index.ClassName,
            Family = model.Family,
            ProducesVideo = true,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            // Wan 2.2 TI2V (expand_timesteps) takes an optional first frame, as WanImageToVideoPipeline runs it
            Arguments = WanRequestRules.Arguments(_config),
            RequiresImage = _config.ImageToVideo,
            DefaultHeight = 480,
            DefaultWidth = 832,
            DefaultNumFrames = 81,
            FrameMultiple = _config.VaeScaleTemporal,
            DefaultSteps = 50,
            SizeMultiple = _config.SizeMultiple,
            FramesPerSecond = 16,
        };
    }

    IEngine Engine(string component) => _engines.Get(component);

    /// <summary>The shipped TeaCache table for this checkpoint at this size, or null where there is none.</summary>
    IReadOnlyList<double>? TeaCacheTable(int height, int width) =>
        TeaCacheCoefficients.Wan(_config, Path.GetFileName(Path.TrimEndingDirectorySeparator(_index.Directory)), height, width);

    string WanVariant() =>
        _config.HasTransformer2 || _config.BoundaryRatio is not null ? $"Wan 2.2 A14B ({_index.ClassName})"
        : _config.ExpandTimesteps ? $"Wan 2.2 TI2V ({_index.ClassName})"
        : $"this Wan model ({_index.ClassName}, image conditioning without a CLIP image encoder)";

    /// <summary>Wan 2.2 A14B: only the expert in use stays resident; the other is released when the boundary is crossed.</summary>
    void ReleaseOtherExpert(string expert)
    {
        string other = expert == "transformer" ? "transformer_2" : "transformer";
        _engines.Release(other);
        foreach (var part in _engines.Loaded.Where(c => c.StartsWith(other + ".", StringComparison.Ordinal)))   // step-cache parts
            _engines.Release(part);
    }

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>Self-attention over the video patches with classifier-free guidance batched (two sequences); the causal
    /// VAE decoder at full resolution on one chunk of frames and its two cached ones; every decoded frame.</summary>
    public GenerationCost EstimateCost(GenerationRequest request)
    {
        var (height, width, frames, _, guidance, guidance2, _, shape) = Resolve(request);
        bool cfg = guidance > 1f || (_config.BoundaryRatio is not null && guidance2 > 1f);
        long tokens = shape[2] / _config.PatchSize[0] * (shape[3] / _config.PatchSize[1]) * (shape[4] / _config.PatchSize[2]);
        var t = _config.Transformer;
        int batch = cfg ? 2 : 1;
        return new GenerationCost
        {
            TransformerTokens = tokens, Batch = batch, Heads = t.Heads,
            ActivationBytes = GenerationCost.TransformerActivations(batch, tokens, t.WidestDim) +
                GenerationCost.VaeDecoder(height, width, _config.Vae.DecoderDim * _config.Vae.DimMult[0], _config.VaeScaleTemporal + 2),
            OutputBytes = GenerationCost.Output(frames, height, width),
            VaeAttentionTokens = shape[3] * shape[4]   // the decoder's mid block attends over one latent frame at a time,
        };
    }

    /// <summary>The request with defaults filled in, validated.</summary>
    (int Height, int Width, int Frames, int Steps, float Guidance, float Guidance2, int MaxSeq, long[] Shape) Resolve(GenerationRequest r)
    {
        int height = r.Height ?? Info.DefaultHeight, width = r.Width ?? Info.DefaultWidth;
        int frames = r.NumFrames ?? Info.DefaultNumFrames, steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        float guidance = (float)(r.GuidanceScale ?? 5.0);
        float guidance2 = (float)(r.GuidanceScale2 ?? guidance);
        int maxSeq = r.MaxSequenceLength ?? 512;
        WanRequestRules.Validate(r, _config, height, width, frames, steps, maxSeq, Info);
        SchedulerShift.Check(r, _schedulerConfig, "Wan", steps);
        if (r.Image is null && _config.ImageToVideo)
            throw new GenerationException("image", $"{_index.ClassName} is image-to-video: an image is required (--image FILE)");
        if (r.Image is { } im) VaeInput.Check(im);
        if (r.LastImage is { } last)
        {
            // diffusers' WanImageToVideoPipeline: the last frame conditions the video (an expand_timesteps model, which
            // ignores it, refuses it with the call arguments)
            VaeInput.Check(last, "last_image", "last_image");
            if (frames < 2)
                throw new GenerationException("last_image", $"a last frame needs a video of more than one frame, got num_frames {frames}");
            // with CLIP image tokens, both images' go to a transformer whose image embedder has positions for two
            if (_config.HasImageEncoder && _config.ImagePositions is null)
                throw new GenerationException("last_image", $"{_index.ClassName}'s transformer takes one image's CLIP tokens (no pos_embed_seq_len): last_image needs a first-last-frame model (Wan2.1-FLF2V)");
        }
        var shape = WanLatents.Shape(_config, 1, frames, height, width);
        if (r.Latents is { } given) WanRequestRules.CheckLatents(given, shape);
        if (TeaCacheTable(height, width) is null)
            StepCaches.ValidateWithoutTeaCacheTable(r, _config.NumLayers, WanVariant(), "TensorRT-LLM's Wan tables cover Wan 2.1 text- and image-to-video");
        else StepCaches.Validate(r, _config.NumLayers);
        return (height, width, frames, steps, guidance, guidance2, maxSeq, shape);
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (height, width, frames, steps, guidance, guidance2, maxSeq, shape) = Resolve(r);
        float[] latents = r.Latents is { } given ? given.Floats : LatentNoise.Gaussian(shape.Aggregate(1L, (a, b) => a * b), r.Seed ?? 0);

        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, steps));
        var tokenizer = _tokenizer.WithMaxSequenceLength(maxSeq);
        bool cfg = guidance > 1f || (_config.BoundaryRatio is not null && guidance2 > 1f);
        var promptEmbeds = EncodePrompt(tokenizer, r.Prompt, ct);
        var negativeEmbeds = cfg ? EncodePrompt(tokenizer, r.NegativePrompt ?? "", ct) : null;

        HostTensor? imageEmbeds = null, condition = null, firstFrame = null;
        if (_config.ExpandTimesteps && r.Image is { } first)
            firstFrame = WanImageCondition.FirstFrame(new WanVaeEncoder(Engine("vae.encoder_first"), () => Engine("vae.encoder_next")),
                _latentStats, first, height, width, ct);
        if (_config.ImageToVideo)
        {
            if (_config.HasImageEncoder)
            {
                var processor = new ClipImageProcessor(_index.ComponentDirectory("image_processor"));
                imageEmbeds = WanImageCondition.ImageEmbeds(Engine("image_encoder"), processor, r.Image!, ct);
                // encode_image([image, last_image]): both images' tokens, batched (the embedder's positions join them)
                if (r.LastImage is { } lastImage)
                    imageEmbeds = Concat(imageEmbeds, WanImageCondition.ImageEmbeds(Engine("image_encoder"), processor, lastImage, ct));
            }
            var encoder = new WanVaeEncoder(Engine("vae.encoder_first"), () => Engine("vae.encoder_next"));
            condition = WanImageCondition.Condition(encoder, _latentStats, r.Image!, frames, height, width, ct,
                r.VaeTiling == true ? CausalVaeTiling.ForWan(_config.Vae) : null, r.LastImage);
        }
        ct.ThrowIfCancellationRequested();

        var scheduler = SchedulerRegistry.Default.Create(_schedulerConfig, r.Shift);
        scheduler.SetTimesteps(steps);
        double? boundary = _config.BoundaryRatio * _config.NumTrainTimesteps;
        long tokens = shape[2] / _config.PatchSize[0] * (shape[3] / _config.PatchSize[1]) * (shape[4] / _config.PatchSize[2]);

        // the text context (cond and uncond batched) and image tokens are the same every step: built once, kept resident
        var constant = new Dictionary<string, HostTensor> { ["encoder_hidden_states"] = cfg ? Concat(promptEmbeds, negativeEmbeds!) : promptEmbeds };
        if (imageEmbeds is not null) constant["encoder_hidden_states_image"] = cfg ? Concat(imageEmbeds, imageEmbeds) : imageEmbeds;
        using var stepInputs = new StepInputs(constant);
        // step caches: one state per expert (A14B's experts never share a residual)
        var cacheLog = StepCaches.Log(r, steps);
        var teaTable = TeaCacheTable(height, width);
        using var caches = new StepCacheSet(() => StepCaches.Create(r, cacheLog!, teaTable ?? []));
        IStepCache? Cache(string expert) => cacheLog is null ? null : caches.For(expert);
        _engines.BeginStage("denoise");
        // A14B: the high-noise expert down to the boundary timestep, the low-noise one after, each with its guidance scale
        string ExpertAt(double t) => boundary is null || t >= boundary || !_config.HasTransformer2 ? "transformer" : "transformer_2";
        float ScaleAt(double t) => boundary is null || t >= boundary ? guidance : guidance2;
        // the loop stays where the engines compute, with or without a step cache
        var final = DenoiseResident(scheduler, latents, shape, stepInputs, tokens, cfg, condition, firstFrame, ExpertAt, ScaleAt, Cache, progress, ct);

        var finalLatents = HostTensor.Float32(final, shape);
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", steps, steps));
        ct.ThrowIfCancellationRequested();
        var vaeLatents = _latentStats.Denormalize(finalLatents);
        var video = WanVaeDecoder.DecodeVideo(vaeLatents, _config.Vae, r.VaeTiling == true, Engine, progress, ct);
        ct.ThrowIfCancellationRequested();
        return new GenerationResult(finalLatents, VideoPostprocess.ToNumpyLayout(video), IsVideo: true, Info.FramesPerSecond)
        {
            StepCache = cacheLog?.Report(),
        };
    }

    HostTensor EncodePrompt(WanPromptTokenizer tokenizer, string prompt, CancellationToken ct)
    {
        var tok = tokenizer.Tokenize(prompt);
        var outputs = Engine("text_encoder").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(tok.InputIds, 1, tok.Length),
            ["attention_mask"] = HostTensor.Int64(tok.AttentionMask, 1, tok.Length),
        }, ct);
        return WanPromptEmbeds.ZeroPastPromptLength(outputs["last_hidden_state"], HostTensor.Int64(tok.AttentionMask, 1, tok.Length));
    }

    /// <summary>
    /// The denoising loop where the engines compute (GPU memory on the native CUDA engine): the latents, the transformer's
    /// batched input (latents per batch row, the I2V condition written once), the guided prediction and the scheduler's
    /// history stay there; every step's timestep tensor is uploaded before the loop. A step moves nothing between host
    /// and device: it is a few copy/combine kernels around the transformer call. With a step cache (<paramref name="cacheFor"/>
    /// gives the expert's) the cache makes the prediction from the same tensors; it reads back TeaCache's timestep
    /// embedding (one row of a few thousand values) or Cache-DiT's relative L1 (two numbers) per step. Returns the final
    /// latents on the host. With a TI2V first frame (<paramref name="firstFrame"/>) the transformer reads it in place of the
    /// latents' first frame, with timestep 0 on that frame's tokens, and it replaces the final latents' first frame
    /// (diffusers: (1 − mask)·condition + mask·latents, timestep mask·t).
    /// </summary>
    float[] DenoiseResident(IScheduler scheduler, float[] latents, long[] shape, StepInputs stepInputs, long tokens, bool cfg,
        HostTensor? condition, HostTensor? firstFrame, Func<double, string> expertAt, Func<double, float> scaleAt,
        Func<string, IStepCache?> cacheFor, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var timesteps = scheduler.Timesteps;
        var first = Engine(expertAt(timesteps[0])).AsResident();
        var math = first.Arithmetic;
        int batch = cfg ? 2 : 1;
        long n = latents.LongLength, c = condition?.Floats.LongLength ?? 0;
        long channels = shape[1] + (condition?.Shape[1] ?? 0);
        using var scope = new EngineTensorScope();
        var sample = scope.Own(first.Upload(HostTensor.Float32(latents, shape)));
        var hidden = scope.Own(math.Allocate([batch, channels, .. shape[2..]]));
        var guided = scope.Own(math.Allocate(shape));
        if (condition is not null)
        {
            // I2V: cat([latents, condition], dim=1) per batch row; the condition part never changes
            var cond = scope.Own(first.Upload(condition));
            for (int b = 0; b < batch; b++) math.Copy(hidden, b * (n + c) + n, cond, 0, c);
        }
        long framePlane = shape[3] * shape[4], channelSize = shape[2] * framePlane;
        var frame0 = firstFrame is null ? null : scope.Own(first.Upload(firstFrame));
        // expand_timesteps with a first frame: its tokens (the first (h/p)·(w/p) of each row) at timestep 0
        long frameTokens = firstFrame is null ? 0 : framePlane / (_config.PatchSize[1] * _config.PatchSize[2]);
        var stepTimesteps = timesteps.Select(t => scope.Own(first.Upload(TimestepInput((float)t, batch, tokens, frameTokens)))).ToList();
        // a step cache's latent input: the sample once per batch row (without the I2V condition channels)
        IEngineTensor? latentRows = null;
        DenoisingLoop.Run(scheduler, sample, math, (step, t, x) =>
        {
            string expert = expertAt(t);
            ReleaseOtherExpert(expert);
            for (int b = 0; b < batch; b++) math.Copy(hidden, b * (n + c), x, 0, n);
            if (frame0 is not null)
                for (int b = 0; b < batch; b++)
                    for (long ch = 0; ch < shape[1]; ch++) math.Copy(hidden, b * (n + c) + ch * channelSize, frame0, ch * framePlane, framePlane);
            var cache = cacheFor(expert);
            if (cache is not null)
            {
                latentRows ??= scope.Own(math.Allocate([batch, .. shape[1..]]));
                for (int b = 0; b < batch; b++) math.Copy(latentRows, b * n, x, 0, n);
            }
            using var output = cache is null
                ? stepInputs.RunResident(Engine(expert), new Dictionary<string, IEngineTensor>
                {
                    ["hidden_states"] = hidden,
                    ["timestep"] = stepTimesteps[step],
                }, "sample", ct)
                : cache.Predict(step, new PartsTransformer(part => Engine(part.Length == 0 ? expert : $"{expert}.{part}"), stepInputs,
                    new Dictionary<string, IEngineTensor> { ["hidden_states"] = hidden, ["timestep"] = stepTimesteps[step] }, latentRows!,
                    () => ConditionalTimeEmbedding(expert, stepTimesteps[step]), _config.NumLayers, ct));
            // classifier-free guidance: uncond + scale·(cond − uncond) = scale·cond + (1 − scale)·uncond
            float scale = scaleAt(t);
            if (cfg) math.Combine(guided, 0, n, [new LinearTerm(scale, output, 0), new LinearTerm(1 - scale, output, n)]);
            else math.Copy(guided, 0, output, 0, n);
            return guided;
        }, progress, ct);
        if (frame0 is not null)
            for (long ch = 0; ch < shape[1]; ch++) math.Copy(sample, ch * channelSize, frame0, ch * framePlane, framePlane);
        return sample.ToHost().Floats;
    }

    /// <summary>TeaCache's compared tensor: the expert's time embedding (its time_embedding part) of the conditional row.</summary>
    float[] ConditionalTimeEmbedding(string expert, IEngineTensor timestep)
    {
        using var t = Engine($"{expert}.{TransformerParts.TimeEmbedding}").AsResident()
            .RunResident(new Dictionary<string, IEngineTensor> { ["timestep"] = timestep }, "temb");
        var temb = t.ToHost();
        long perRow = temb.Floats.LongLength / temb.Shape[0];
        return temb.Floats.AsSpan(0, (int)perRow).ToArray();
    }

    /// <summary>The transformer's timestep input: one value per batch row, or per token (Wan 2.2 TI2V's expand_timesteps),
    /// the first <paramref name="givenTokens"/> of each row at 0 (a given first frame).</summary>
    HostTensor TimestepInput(float t, int batch, long tokens, long givenTokens = 0)
    {
        if (!_config.ExpandTimesteps) return HostTensor.Float32(Enumerable.Repeat(t, batch).ToArray(), batch);
        var values = new float[tokens * batch];
        for (long i = 0; i < values.LongLength; i++) values[i] = i % tokens < givenTokens ? 0f : t;
        return HostTensor.Float32(values, batch, tokens);
    }

    static HostTensor Concat(HostTensor a, HostTensor b) =>
        HostTensor.Float32([.. a.Floats, .. b.Floats], [a.Shape[0] + b.Shape[0], .. a.Shape[1..]]);

    public void Dispose()
    {
        // engines belong to the provider, which disposes them
        _engines.Clear();
    }
}
