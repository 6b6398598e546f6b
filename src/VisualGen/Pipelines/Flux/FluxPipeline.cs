using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Vae;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Flux;

namespace VisualGen.Pipelines.Flux;

/// <summary>
/// diffusers' FluxPipeline (FLUX.1 text-to-image; dev with embedded guidance, schnell without): CLIP pooled and T5
/// prompt embeddings (T5 attends to its padding: no mask), 2×2 packed latents with image position ids, the
/// flow-matching schedule sigmas = linspace(1, 1/n, n) shifted by mu from the image token count, the shared
/// denoising loop (true CFG with a negative prompt when true_cfg_scale > 1, as diffusers), unpacking, the VAE's
/// scaling/shift and decoding. Engines come from an <see cref="IEngineProvider"/> on first use. With an image it is
/// FluxImg2ImgPipeline (<see cref="FluxImageToImage"/>: the image's latents noised to a step set by strength, the loop run
/// from there). FluxKontextPipeline
/// (FLUX.1 Kontext, image editing) is the same loop with an image's tokens after the latents' and the output size
/// fitted to max_area: see <see cref="FluxKontext"/>.
/// </summary>
public sealed class FluxPipeline : IGenerationPipeline
{
    /// <summary>FluxPipeline.default_sample_size (in latent pixels; × vae_scale_factor gives 1024).</summary>
    const int DefaultSampleSize = 128;
    const double DefaultGuidanceScale = 3.5;

    readonly ModelIndex _index;
    readonly PipelineEngines _engines;
    readonly FluxModelConfig _config;
    readonly ClipPromptTokenizer _clipTokenizer;
    readonly FluxT5PromptTokenizer _t5Tokenizer;
    readonly ComponentConfig _schedulerConfig;
    readonly bool _kontext, _fill;

    public PipelineInfo Info { get; }

    public FluxPipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        _index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        _config = FluxModelConfig.Load(_index);
        _clipTokenizer = ClipPromptTokenizer.Load(_index.ComponentDirectory("tokenizer"));
        CheckClipPositions(_index, _clipTokenizer);
        _t5Tokenizer = FluxT5PromptTokenizer.Load(_index.ComponentDirectory("tokenizer_2"));
        _schedulerConfig = _index.LoadConfig("scheduler");
        _kontext = _index.ClassName == FluxKontext.ClassName;
        _fill = _index.ClassName == FluxFill.ClassName;
        Info = new PipelineInfo
        {
            ClassName = _index.ClassName,
            Family = model.Family,
            ProducesVideo = false,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            Arguments = FluxRequestRules.Arguments(_kontext, _fill),   // FluxPipeline: image-to-image, inpainting; Kontext: editing; Fill: its image and mask
            RequiresImage = _fill,
            DefaultHeight = DefaultSampleSize * _config.VaeScaleFactor,
            DefaultWidth = DefaultSampleSize * _config.VaeScaleFactor,
            DefaultSteps = 28,
            SizeMultiple = _config.SizeMultiple,
        };
    }

    IEngine Engine(string component) => _engines.Get(component);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>Joint attention over the 2×2 image patches and the T5 tokens, one sequence per call (true CFG runs
    /// its negative prompt as a second call); the AutoencoderKL decoder at full resolution.</summary>
    public GenerationCost EstimateCost(GenerationRequest request)
    {
        var (height, width, _, maxSeq) = Resolve(request);
        long tokens = (long)(height / _config.SizeMultiple) * (width / _config.SizeMultiple) + maxSeq;
        if (_kontext && request.Image is { } image)
        {
            var (ih, iw) = FluxKontext.ImageSize((int)image.Shape[0], (int)image.Shape[1], _config.SizeMultiple);
            tokens += (long)(ih / _config.SizeMultiple) * (iw / _config.SizeMultiple);
        }
        var t = _config.Transformer;
        return new GenerationCost
        {
            TransformerTokens = tokens, Batch = 1, Heads = t.Heads,
            ActivationBytes = GenerationCost.TransformerActivations(1, tokens, t.WidestDim) +
                GenerationCost.VaeDecoder(height, width, _config.Vae.BlockOutChannels[0], 1),
            OutputBytes = GenerationCost.Output(1, height, width),
            VaeAttentionTokens = _config.Vae.MidBlockAddAttention ? (long)(height / _config.VaeScaleFactor) * (width / _config.VaeScaleFactor) : 0,
        };
    }

    /// <summary>The request's size, steps and text length with defaults filled in, validated.</summary>
    (int Height, int Width, int Steps, int MaxSeq) Resolve(GenerationRequest r)
    {
        int height = r.Height ?? Info.DefaultHeight, width = r.Width ?? Info.DefaultWidth;
        // Kontext fits the size to max_area at its aspect ratio (diffusers adjusts it with a warning)
        if (_kontext && height > 0 && width > 0)
            (height, width) = FluxKontext.OutputSize(height, width, r.MaxArea ?? FluxKontext.DefaultMaxArea, _config.SizeMultiple);
        int steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        int maxSeq = r.MaxSequenceLength ?? FluxT5PromptTokenizer.DefaultMaxSequenceLength;
        FluxRequestRules.Validate(r, _config, Info, height, width, steps, maxSeq);
        SchedulerShift.Check(r, _schedulerConfig, "FLUX.1", steps);
        StepCaches.Validate(r, _config.NumBlocks);
        return (height, width, steps, maxSeq);
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (height, width, steps, maxSeq) = Resolve(r);
        bool imageToImage = !_kontext && r.Image is not null;
        float guidanceScale = (float)(r.GuidanceScale ?? (_fill ? FluxFill.DefaultGuidanceScale
            : imageToImage ? FluxImageToImage.DefaultGuidanceScale : DefaultGuidanceScale));
        float trueCfgScale = (float)(r.TrueCfgScale ?? 1.0);
        bool doTrueCfg = trueCfgScale > 1 && r.NegativePrompt is not null;

        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, steps));
        var t5 = _t5Tokenizer.WithMaxSequenceLength(maxSeq);
        var prompt = EncodePrompt(t5, r.Prompt, ct);
        var negative = doTrueCfg ? EncodePrompt(t5, r.NegativePrompt!, ct) : null;

        int vsf = _config.VaeScaleFactor;
        long latentH = FluxLatents.LatentSize(height, vsf), latentW = FluxLatents.LatentSize(width, vsf);
        var shape = FluxLatents.PackedShape(1, _config.LatentChannels, height, width, vsf);
        float[] latents = r.Latents is { } given
            ? FluxRequestRules.CheckLatents(given, shape)
            : LatentPacking.Pack(HostTensor.Float32(LatentNoise.Gaussian(shape[1] * shape[2], r.Seed ?? 0), 1, _config.LatentChannels, latentH, latentW)).Floats;
        var imageIds = FluxLatents.ImageIds(latentH / 2, latentW / 2);
        HostTensor? reference = null;
        if (_kontext && r.Image is { } editImage)
        {
            var (tokens, ids) = FluxKontext.Encode(Engine("vae.encoder"), _config.Vae, FluxKontext.Preprocess(editImage, _config.SizeMultiple), ct);
            reference = tokens;
            imageIds = HostTensor.Float32([.. imageIds.Floats, .. ids.Floats], imageIds.Shape[0] + ids.Shape[0], 3);  // the latents' ids, then the image's
        }

        var scheduler = SchedulerRegistry.Default.Create(_schedulerConfig, r.Shift);
        double mu = FlowSigmas.CalculateShift(shape[1],
            _schedulerConfig.GetInt("base_image_seq_len", 256), _schedulerConfig.GetInt("max_image_seq_len", 4096),
            _schedulerConfig.GetDouble("base_shift", 0.5), _schedulerConfig.GetDouble("max_shift", 1.15));
        scheduler.SetTimesteps(steps, mu, FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        int firstStep = 0;
        Inpainting? inpaint = null;
        HostTensor? fillCondition = null;
        if (imageToImage)
        {
            firstStep = ImageToImage.FirstStep(steps, r.Strength ?? (_fill ? FluxFill.DefaultStrength : ImageToImage.DefaultStrength));
            // FluxFillPipeline: the image-to-image start, and the masked image and mask beside the latents at every step
            if (_fill) fillCondition = FluxFill.Condition(Engine("vae.encoder"), _config.Vae, r.Image!, r.MaskImage!, height, width, r.Seed ?? 0, ct);
            if (!_fill && r.MaskImage is { } mask)
            {
                inpaint = FluxInpaint.Prepare(Engine("vae.encoder"), _config.Vae, r.Image!, mask, height, width, _config.LatentChannels, vsf, r.Seed ?? 0, r.Latents, ct);
                latents = inpaint.Start((float)scheduler.Sigmas[firstStep]);
            }
            else if (r.Latents is null)
                latents = FluxImageToImage.NoisedLatents(Engine("vae.encoder"), _config.Vae, r.Image!, height, width,
                    (float)scheduler.Sigmas[firstStep], r.Seed ?? 0, ct).Floats;
        }
        ct.ThrowIfCancellationRequested();
        HostTensor? guidance = _config.GuidanceEmbeds ? HostTensor.Float32([guidanceScale], 1) : null;

        // step caches: one state per true-CFG branch, as TensorRT-LLM keeps for separate cond/uncond calls
        var cacheLog = StepCaches.Log(r, steps, firstStep);
        var coefficients = _config.GuidanceEmbeds ? TeaCacheCoefficients.FluxDev : TeaCacheCoefficients.FluxSchnell;
        using IStepCache? condCache = cacheLog is null ? null : StepCaches.Create(r, cacheLog, coefficients);
        using IStepCache? negCache = cacheLog is null || negative is null ? null : StepCaches.Create(r, cacheLog, coefficients);

        _engines.BeginStage("denoise");
        var final = DenoiseResident(scheduler, latents, shape, reference, guidance, imageIds, prompt, negative, trueCfgScale, condCache, negCache,
            firstStep, inpaint, fillCondition, progress, ct);

        var finalLatents = HostTensor.Float32(final, shape);
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", steps, steps));
        ct.ThrowIfCancellationRequested();
        var image = Decode(LatentPacking.Unpack(finalLatents, latentH, latentW), r.VaeTiling == true, progress, ct);
        ct.ThrowIfCancellationRequested();
        return new GenerationResult(finalLatents, ImagePostprocess.ToNumpyLayout(image), IsVideo: false, Info.FramesPerSecond)
        {
            StepCache = cacheLog?.Report(),
        };
    }

    /// <summary>encode_prompt: CLIP's pooled output and T5's last hidden state (no attention mask), and text_ids.</summary>
    FluxPromptEmbeds EncodePrompt(FluxT5PromptTokenizer t5, string prompt, CancellationToken ct)
    {
        var clipTokens = _clipTokenizer.Tokenize(prompt);
        var pooled = Engine("text_encoder").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(clipTokens.InputIds, 1, clipTokens.Length),
        }, ct)["pooler_output"];
        var t5Tokens = t5.Tokenize(prompt);
        var ones = Enumerable.Repeat(1L, t5Tokens.Length).ToArray();
        var states = Engine("text_encoder_2").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(t5Tokens.InputIds, 1, t5Tokens.Length),
            ["attention_mask"] = HostTensor.Int64(ones, 1, t5Tokens.Length),
        }, ct)["last_hidden_state"];
        return new FluxPromptEmbeds(states, pooled, FluxLatents.TextIds(t5Tokens.Length));
    }

    /// <summary>The CLIP prompt is padded to the tokenizer's model_max_length, and the text encoder adds a position
    /// embedding per token: a longer length than its max_position_embeddings is refused by transformers'
    /// CLIPTextEmbeddings (a ValueError at encode); here it was an ONNX Runtime broadcast error ("77 by 1000") naming no
    /// config. A shorter one is fine: the positions are sliced.</summary>
    static void CheckClipPositions(ModelIndex index, ClipPromptTokenizer tokenizer)
    {
        var encoder = index.LoadConfig("text_encoder");
        int positions = encoder.GetInt("max_position_embeddings", 77);   // CLIPTextConfig's default
        if (tokenizer.MaxLength > positions)
            throw new CheckpointException(Path.Combine(index.ComponentDirectory("tokenizer"), "tokenizer_config.json"),
                $"'model_max_length' {tokenizer.MaxLength} is more than the CLIP text encoder's max_position_embeddings {positions} " +
                $"({encoder.FilePath}): every prompt is padded to model_max_length tokens, and the encoder has positions for {positions}");
    }

    /// <summary>The transformer's inputs that are the same at every step of one branch (prompt or negative prompt).</summary>
    static Dictionary<string, HostTensor> Constants(HostTensor? guidance, HostTensor imageIds, FluxPromptEmbeds text)
    {
        var inputs = new Dictionary<string, HostTensor>
        {
            ["encoder_hidden_states"] = text.PromptEmbeds,
            ["pooled_projections"] = text.PooledPromptEmbeds,
            ["img_ids"] = imageIds,
            ["txt_ids"] = text.TextIds,
        };
        if (guidance is not null) inputs["guidance"] = guidance;
        return inputs;
    }

    /// <summary>
    /// The denoising loop where the transformer computes (GPU memory on the native CUDA engine): the packed latents, the
    /// true-CFG combination and the scheduler's steps stay there; each branch's text, pooled embedding, guidance and ids
    /// are set up once (position ids stay on the host, where the engine reads them), every step's timestep is uploaded
    /// before the loop. With step caches (one per branch) each branch's prediction comes from its cache, on the same
    /// tensors; TeaCache reads back the time embedding, Cache-DiT two numbers. With a Kontext image both branches read the
    /// latents' tokens followed by the image's (written once) and use the first part of their prediction (diffusers:
    /// torch.cat([latents, image_latents], dim=1), noise_pred[:, :latents.size(1)]); a step cache works on the whole
    /// stream. Returns the final latents on the host.
    /// </summary>
    float[] DenoiseResident(IScheduler scheduler, float[] latents, long[] shape, HostTensor? reference, HostTensor? guidance, HostTensor imageIds,
        FluxPromptEmbeds prompt, FluxPromptEmbeds? negative, float trueCfgScale, IStepCache? condCache, IStepCache? negCache,
        int firstStep, Inpainting? inpaint, HostTensor? fillCondition, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var transformer = Engine("transformer");
        var resident = transformer.AsResident();
        var math = resident.Arithmetic;
        using var cond = new StepInputs(Constants(guidance, imageIds, prompt));
        using var neg = negative is null ? null : new StepInputs(Constants(guidance, imageIds, negative));
        using var scope = new EngineTensorScope();
        IEngineTensor? last = null;
        try
        {
            var sample = scope.Own(resident.Upload(HostTensor.Float32(latents, shape)));
            var guided = neg is null ? null : scope.Own(math.Allocate(shape));
            // the pipeline passes timestep / 1000 in float32; the transformer multiplies it back
            var timesteps = scheduler.Timesteps.Select(t => scope.Own(resident.Upload(HostTensor.Float32([(float)t / 1000f], 1)))).ToList();
            long count = latents.LongLength;
            IEngineTensor? joint = null, prediction = null;
            if (reference is not null)
            {
                joint = scope.Own(math.Allocate([1, shape[1] + reference.Shape[1], shape[2]]));
                math.Copy(joint, count, scope.Own(resident.Upload(reference)), 0, reference.Floats.Length);
                prediction = neg is null ? scope.Own(math.Allocate(shape)) : null;
            }
            // FLUX.1 Fill: per token the latents, then the masked image's latents and the mask (interleaved on the host)
            var filled = fillCondition is null ? null : scope.Own(math.Allocate(fillCondition.Shape[..2].Append(shape[2] + fillCondition.Shape[2]).ToArray()));
            DenoisingLoop.Run(scheduler, sample, math, (step, t, x) =>
            {
                last?.Dispose();
                last = null;
                var input = x;
                if (joint is not null)
                {
                    math.Copy(joint, 0, x, 0, count);
                    input = joint;
                }
                if (filled is not null)
                {
                    using var joined = resident.Upload(FluxFill.ConcatChannels(x.ToHost(), fillCondition!));
                    math.Copy(filled, 0, joined, 0, joined.Shape.Aggregate(1L, (a, b) => a * b));
                    input = filled;
                }
                var perStep = new Dictionary<string, IEngineTensor> { ["hidden_states"] = input, ["timestep"] = timesteps[step] };
                var temb = new Lazy<float[]>(() => TransformerParts.HostTimeEmbedding(Engine($"transformer.{TransformerParts.TimeEmbedding}"), (float)t / 1000f, guidance));
                IEngineTensor Branch(StepInputs text, IStepCache? cache) => cache is null
                    ? text.RunResident(transformer, perStep, "sample", ct)
                    : cache.Predict(step, new PartsTransformer(part => part.Length == 0 ? transformer : Engine($"transformer.{part}"),
                        text, perStep, input, () => temb.Value, _config.NumBlocks, ct));
                var noisePred = Branch(cond, condCache);
                if (neg is null)
                {
                    last = noisePred;
                    if (prediction is null) return noisePred;
                    math.Copy(prediction, 0, noisePred, 0, count);  // noise_pred[:, :latents.size(1)]
                    return prediction;
                }
                using (noisePred)
                using (var negPred = Branch(neg, negCache))
                    // true CFG: neg + scale·(cond − neg) = scale·cond + (1 − scale)·neg, over the latents' part
                    math.Combine(guided!, 0, count, [new LinearTerm(trueCfgScale, noisePred), new LinearTerm(1 - trueCfgScale, negPred)]);
                return guided!;
            }, progress, ct, firstStep, inpaint?.AfterStep(scheduler, resident, shape));
            return sample.ToHost().Floats;
        }
        finally
        {
            last?.Dispose();
        }
    }

    /// <summary>(latents / scaling_factor) + shift_factor, then the VAE decoder: [1, 3, H, W] in about [−1, 1]; with
    /// <paramref name="tiled"/>, AutoencoderKL's tiled decode (each tile one decoder call) where the latent exceeds a tile.</summary>
    HostTensor Decode(HostTensor latents, bool tiled, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var raw = _config.Vae.FromLatents(latents);
        var decoder = Engine("vae.decoder");
        HostTensor DecodeTile(HostTensor z) => decoder.Run(new Dictionary<string, HostTensor> { ["latents"] = z }, ct)["sample"];
        if (!tiled) return DecodeTile(raw);
        return AutoencoderKLTiling.For(_config.Vae).Decode(raw, DecodeTile,
            (done, all) => progress?.Report(new GenerationProgress("decode", done, all)), ct);
    }

    public void Dispose()
    {
        // engines belong to the provider, which disposes them
        _engines.Clear();
    }
}
