using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Pipelines.Vae;
using VisualGen.Pipelines.Wan;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.QwenImage;

namespace VisualGen.Pipelines.QwenImage;

/// <summary>
/// diffusers' QwenImagePipeline (Qwen-Image and Qwen-Image-2512, text-to-image): the chat-templated prompt through
/// the Qwen2.5-VL text encoder (template states dropped), packed 2×2 latents, FlowMatchEuler with mu from the image
/// token count and sigmas linspace(1, 1/n, n), true classifier-free guidance (a second transformer call on the
/// negative prompt, norm rescaling) when true_cfg_scale > 1 and a negative prompt is given, and the Wan-style VAE
/// decoding one frame. Engines come from an <see cref="IEngineProvider"/> on first use. With an image it is
/// QwenImageImg2ImgPipeline: the image resized to the requested size (LANCZOS, in float), a sample of the VAE's latent
/// distribution normalized as the latents are, noised by scale_noise at the step strength sets (<see cref="ImageToImage"/>),
/// and the loop run from there.
/// </summary>
public sealed class QwenImagePipeline : IGenerationPipeline
{
    /// <summary>diffusers' default true_cfg_scale.</summary>
    public const double DefaultTrueCfgScale = 4.0;

    readonly PipelineEngines _engines;
    readonly QwenImageModelConfig _config;
    readonly QwenImagePromptTokenizer _tokenizer;
    readonly ComponentConfig _schedulerConfig;
    readonly WanLatentStats _latentStats;

    public PipelineInfo Info { get; }

    public QwenImagePipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        var index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        _config = QwenImageModelConfig.Load(index);
        _tokenizer = QwenImagePromptTokenizer.Load(index.ComponentDirectory("tokenizer"));
        _schedulerConfig = index.LoadConfig("scheduler");
        _latentStats = new WanLatentStats(_config.Vae);
        Info = new PipelineInfo
        {
            ClassName = index.ClassName,
            Family = model.Family,
            ProducesVideo = false,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            Arguments = QwenImageRequestRules.Arguments,   // image-to-image
            // default_sample_size 128 × vae_scale_factor
            DefaultHeight = 128 * _config.VaeScaleFactor,
            DefaultWidth = 128 * _config.VaeScaleFactor,
            DefaultSteps = 50,
            DefaultTrueCfgScale = QwenImagePipeline.DefaultTrueCfgScale,
            SizeMultiple = _config.SizeMultiple,
        };
    }

    IEngine Engine(string component) => _engines.Get(component);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>Joint attention over the 2×2 image patches and the prompt tokens, one sequence per call (true CFG runs
    /// the negative prompt as a second call); the causal VAE decoder at full resolution with its two cached frames.</summary>
    public GenerationCost EstimateCost(GenerationRequest request)
    {
        var (height, width, _, maxSeq, _) = Resolve(request);
        long tokens = (long)(height / _config.SizeMultiple) * (width / _config.SizeMultiple) + maxSeq;
        var t = _config.Transformer;
        return new GenerationCost
        {
            TransformerTokens = tokens, Batch = 1, Heads = t.Heads,
            ActivationBytes = GenerationCost.TransformerActivations(1, tokens, t.WidestDim) +
                GenerationCost.VaeDecoder(height, width, _config.Vae.DecoderDim * _config.Vae.DimMult[0], 3),
            OutputBytes = GenerationCost.Output(1, height, width),
            VaeAttentionTokens = (long)(height / _config.VaeScaleFactor) * (width / _config.VaeScaleFactor)   // the Wan-style decoder's mid block attends per frame,
        };
    }

    /// <summary>The request's size, steps, text length and true-CFG scale with defaults filled in, validated.</summary>
    (int Height, int Width, int Steps, int MaxSeq, double TrueCfgScale) Resolve(GenerationRequest r)
    {
        int height = r.Height ?? Info.DefaultHeight, width = r.Width ?? Info.DefaultWidth;
        int steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        int maxSeq = r.MaxSequenceLength ?? 512;
        double trueCfgScale = r.TrueCfgScale ?? DefaultTrueCfgScale;
        QwenImageRequestRules.Validate(r, _config, Info, height, width, steps, maxSeq, trueCfgScale);
        SchedulerShift.Check(r, _schedulerConfig, "Qwen-Image", steps);
        StepCaches.Validate(r, _config.NumLayers);
        return (height, width, steps, maxSeq, trueCfgScale);
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (height, width, steps, maxSeq, trueCfgScale) = Resolve(r);

        // latent grid (h/8, w/8) and its 2×2 patches, img_shapes [(1, h/16, w/16)]
        long latentH = height / _config.VaeScaleFactor, latentW = width / _config.VaeScaleFactor;
        long gridH = latentH / 2, gridW = latentW / 2, tokens = gridH * gridW;
        long[] packedShape = [1, tokens, _config.PackedChannels];
        float[] latents = r.Latents is { } given
            ? QwenImageRequestRules.CheckLatents(given, packedShape)
            : LatentNoise.Gaussian(tokens * _config.PackedChannels, r.Seed ?? 0);

        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, steps));
        bool trueCfg = trueCfgScale > 1 && r.NegativePrompt is not null;
        var promptEmbeds = EncodePrompt(r.Prompt, maxSeq, ct);
        var negativeEmbeds = trueCfg ? EncodePrompt(r.NegativePrompt!, maxSeq, ct) : null;

        var scheduler = SchedulerRegistry.Default.Create(_schedulerConfig, r.Shift);
        if (scheduler is not FlowMatchEulerDiscreteScheduler flowMatch)
            throw new SchedulerException($"QwenImagePipeline needs {FlowMatchEulerDiscreteScheduler.Name} (it passes mu and sigmas), the checkpoint has {scheduler.ClassName}");
        scheduler.SetTimesteps(steps, flowMatch.CalculateShift(tokens), FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        int firstStep = 0;
        Inpainting? inpaint = null;
        if (r.Image is { } source)
        {
            firstStep = ImageToImage.FirstStep(steps, r.Strength ?? ImageToImage.DefaultStrength);
            if (r.MaskImage is { } mask)
            {
                // QwenImageInpaintPipeline
                var (imageLatents, noise) = ImageLatentsAndNoise(source, height, width, r.Seed ?? 0, ct);
                var grid = Images.InpaintMask.OnLatentGrid(mask, height, width, (int)latentH, (int)latentW, _config.LatentChannels);
                inpaint = new Inpainting(imageLatents, noise, LatentPacking.Pack(grid), r.Latents);
                latents = inpaint.Start((float)scheduler.Sigmas[firstStep]);
            }
            else if (r.Latents is null) latents = NoisedLatents(source, height, width, scheduler.Sigmas[firstStep], r.Seed ?? 0, ct).Floats;
        }
        ct.ThrowIfCancellationRequested();

        var imgShapes = HostTensor.Int64([1, gridH, gridW], 3);
        // step caches: one state per true-CFG branch, as TensorRT-LLM keeps for separate cond/uncond calls
        var cacheLog = StepCaches.Log(r, steps, firstStep);
        using IStepCache? condCache = cacheLog is null ? null : StepCaches.Create(r, cacheLog, TeaCacheCoefficients.QwenImage);
        using IStepCache? negCache = cacheLog is null || negativeEmbeds is null ? null : StepCaches.Create(r, cacheLog, TeaCacheCoefficients.QwenImage);

        _engines.BeginStage("denoise");
        var final = DenoiseResident(scheduler, latents, packedShape, imgShapes, promptEmbeds, negativeEmbeds, (float)trueCfgScale,
            condCache, negCache, firstStep, inpaint, progress, ct);

        var finalLatents = HostTensor.Float32(final, packedShape);
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", steps, steps));
        ct.ThrowIfCancellationRequested();
        var unpacked = LatentPacking.Unpack(finalLatents, latentH, latentW);
        var vaeLatents = _latentStats.Denormalize(unpacked.Reshape(1, _config.LatentChannels, 1, latentH, latentW));
        var video = Decode(vaeLatents, r.VaeTiling == true, progress, ct);
        ct.ThrowIfCancellationRequested();
        var image = VideoPostprocess.ToNumpyLayout(video).Reshape(1, height, width, 3);
        return new GenerationResult(finalLatents, image, IsVideo: false, Info.FramesPerSecond) { StepCache = cacheLog?.Report() };
    }

    /// <summary>The VAE decoder on one latent frame (exactly its first chunk): [1, 3, 1, H, W] clamped to [-1, 1]; with
    /// <paramref name="tiled"/>, AutoencoderKLQwenImage's tiled decode where the latent exceeds a tile (its tiles come
    /// from the decoder without the clamp, and diffusers' tiled path does not clamp).</summary>
    HostTensor Decode(HostTensor vaeLatents, bool tiled, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var tiling = CausalVaeTiling.ForQwenImage(_config.Vae);
        if (!tiled || !tiling.Applies(vaeLatents)) return DecodeFirstChunk(Engine("vae.decoder_first"), vaeLatents, ct);
        var unclamped = Engine($"vae.{WanVaeDecoder.UnclampedPart(WanVaeDecoder.FirstChunkPart)}");
        return tiling.TiledDecode(vaeLatents, tile => DecodeFirstChunk(unclamped, tile, ct),
            (done, all) => progress?.Report(new GenerationProgress("decode", done, all)), ct);
    }

    static HostTensor DecodeFirstChunk(IEngine decoder, HostTensor latents, CancellationToken ct)
    {
        // only the frames: the first-chunk graph also outputs the causal feature caches (GBs at 1024²) a single image never reads
        var decoded = decoder.Run(new Dictionary<string, HostTensor> { [WanVaeDecoder.LatentsInput] = latents }, [WanVaeDecoder.SampleOutput], ct);
        return decoded.TryGetValue(WanVaeDecoder.SampleOutput, out var video) ? video
            : throw new EngineException($"the VAE decoder engine has no output '{WanVaeDecoder.SampleOutput}'");
    }

    /// <summary>prepare_latents with an image: scale_noise of <see cref="ImageLatentsAndNoise"/> at <paramref name="sigma"/>
    /// (elementwise, so packing first changes nothing).</summary>
    HostTensor NoisedLatents(HostTensor image, int height, int width, double sigma, long seed, CancellationToken ct)
    {
        var (imageLatents, noise) = ImageLatentsAndNoise(image, height, width, seed, ct);
        return ImageToImage.ScaleNoise(imageLatents, noise.Floats, (float)sigma);
    }

    /// <summary>prepare_latents' image latents and noise apart (<see cref="ImageToImage.Start"/>): the image as a one-frame
    /// video [1, 3, 1, H, W] through the VAE encoder's first chunk, a sample of the distribution with the latents'
    /// normalization ((x − mean)·(1/std)), packed. Inpainting mixes them again after every step.</summary>
    (HostTensor Image, HostTensor Noise) ImageLatentsAndNoise(HostTensor image, int height, int width, long seed, CancellationToken ct)
    {
        var (mean, logvar) = Moments(image, height, width, ct);
        var (latents, noise) = ImageToImage.Start(mean, logvar, _latentStats.Normalize, seed);
        long[] grid = [1, mean.Shape[1], mean.Shape[3], mean.Shape[4]];
        return (LatentPacking.Pack(latents.Reshape(grid)), LatentPacking.Pack(noise.Reshape(grid)));
    }

    /// <summary>The image as a one-frame video [1, 3, 1, H, W] through the VAE encoder's first chunk: the distribution's mean and log-variance.</summary>
    (HostTensor Mean, HostTensor LogVar) Moments(HostTensor image, int height, int width, CancellationToken ct)
    {
        Images.VaeInput.Check(image);
        var pixels = Images.VaeInput.FromImage(Images.SeparableResize.Lanczos(image, height, width)).Reshape(1, 3, 1, height, width);
        var moments = Engine("vae.encoder_first").Run(new Dictionary<string, HostTensor> { [WanVaeEncoder.VideoInput] = pixels },
            [WanVaeEncoder.MeanOutput, WanVaeEncoder.LogVarOutput], ct);
        return (moments[WanVaeEncoder.MeanOutput], moments[WanVaeEncoder.LogVarOutput]);
    }

    HostTensor EncodePrompt(string prompt, int maxSequenceLength, CancellationToken ct)
    {
        var tok = _tokenizer.Tokenize(prompt);
        var outputs = Engine("text_encoder").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(tok.InputIds, 1, tok.Length),
            ["attention_mask"] = HostTensor.Int64(tok.AttentionMask, 1, tok.Length),
        }, ct);
        return QwenImagePromptEmbeds.FromHiddenStates(outputs["last_hidden_state"], maxSequenceLength);
    }

    /// <summary>The transformer's inputs that are the same at every step of one branch (prompt or negative prompt).</summary>
    static Dictionary<string, HostTensor> Constants(HostTensor encoderHiddenStates, HostTensor imgShapes) => new()
    {
        ["encoder_hidden_states"] = encoderHiddenStates,
        ["img_shapes"] = imgShapes,
    };

    /// <summary>
    /// The denoising loop where the transformer computes (GPU memory on the native CUDA engine): the packed latents, the
    /// true-CFG combination with its per-token norm rescale and the scheduler's steps stay there; the text embeddings are
    /// uploaded once (img_shapes stays on the host where the engine reads it), every step's timestep before the loop.
    /// The prompt and the negative prompt run as one batch of two when their text lengths are equal, else (the usual
    /// case) as two transformer calls. With step caches (one per branch, the branches then run apart) each branch's
    /// prediction comes from its cache, on the same tensors. Returns the final latents on the host.
    /// </summary>
    float[] DenoiseResident(IScheduler scheduler, float[] latents, long[] shape, HostTensor imgShapes, HostTensor prompt,
        HostTensor? negative, float trueCfgScale, IStepCache? condCache, IStepCache? negCache, int firstStep, Inpainting? inpaint,
        IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var transformer = Engine("transformer");
        var resident = transformer.AsResident();
        var math = resident.Arithmetic;
        bool batched = negative is not null && negative.Shape[1] == prompt.Shape[1] && condCache is null;
        int batch = batched ? 2 : 1;
        long n = latents.LongLength;
        using var cond = new StepInputs(Constants(batched ? Stack(prompt, negative!) : prompt, imgShapes));
        using var neg = negative is null || batched ? null : new StepInputs(Constants(negative, imgShapes));
        using var scope = new EngineTensorScope();
        IEngineTensor? last = null;
        try
        {
            var sample = scope.Own(resident.Upload(HostTensor.Float32(latents, shape)));
            var hidden = batched ? scope.Own(math.Allocate([2, .. shape[1..]])) : null;
            var guided = negative is null ? null : scope.Own(math.Allocate(shape));
            var condHalf = batched ? scope.Own(math.Allocate(shape)) : null;
            // timestep / 1000 in float32, as the pipeline passes it, one per batch row
            var timesteps = scheduler.Timesteps.Select(t => scope.Own(resident.Upload(
                HostTensor.Float32(Enumerable.Repeat((float)t / 1000f, batch).ToArray(), batch)))).ToList();
            DenoisingLoop.Run(scheduler, sample, math, (step, t, x) =>
            {
                last?.Dispose();
                last = null;
                if (hidden is not null) for (int b = 0; b < 2; b++) math.Copy(hidden, b * n, x, 0, n);
                var perStep = new Dictionary<string, IEngineTensor> { ["hidden_states"] = hidden ?? x, ["timestep"] = timesteps[step] };
                var temb = new Lazy<float[]>(() => TransformerParts.HostTimeEmbedding(Engine($"transformer.{TransformerParts.TimeEmbedding}"), (float)t / 1000f));
                IEngineTensor Branch(StepInputs text, IStepCache? cache) => cache is null
                    ? text.RunResident(transformer, perStep, "sample", ct)
                    : cache.Predict(step, new PartsTransformer(part => part.Length == 0 ? transformer : Engine($"transformer.{part}"),
                        text, perStep, x, () => temb.Value, _config.NumLayers, ct));
                var output = Branch(cond, condCache);
                if (negative is null) return last = output;
                using (output)
                using (var separate = neg is null ? null : Branch(neg, negCache))
                {
                    // comb = neg + scale·(cond − neg) = scale·cond + (1 − scale)·neg (a batch's second row is the negative)
                    math.Combine(guided!, 0, n, [new LinearTerm(trueCfgScale, output), new LinearTerm(1 - trueCfgScale, separate ?? output, separate is null ? n : 0)]);
                    // then each token rescaled to the conditional prediction's norm (the rescale reads whole tensors: a
                    // batch's first row is copied out)
                    if (condHalf is not null) math.Copy(condHalf, 0, output, 0, n);
                    math.RescaleRowNorms(guided!, guided!, condHalf ?? output, _config.PackedChannels);
                }
                return guided!;
            }, progress, ct, firstStep, inpaint?.AfterStep(scheduler, resident, shape));
            return sample.ToHost().Floats;
        }
        finally
        {
            last?.Dispose();
        }
    }

    /// <summary>Two [1, L, D] text embeddings as one [2, L, D] batch.</summary>
    static HostTensor Stack(HostTensor first, HostTensor second) =>
        HostTensor.Float32([.. first.Floats, .. second.Floats], 2, first.Shape[1], first.Shape[2]);

    public void Dispose()
    {
        // engines belong to the provider, which disposes them
        _engines.Clear();
    }
}
