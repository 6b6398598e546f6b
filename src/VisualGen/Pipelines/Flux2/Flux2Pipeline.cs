using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Pipelines.Caching;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Flux2;

namespace VisualGen.Pipelines.Flux2;

/// <summary>
/// diffusers' Flux2Pipeline (FLUX.2-dev text-to-image, and image editing with a reference image: see
/// <see cref="Flux2ReferenceImage"/>): the prompt in the Mistral chat format with the pipeline's
/// system message, the Mistral3 language model's hidden states of layers 10, 20 and 30 stacked as prompt embeddings,
/// patchified latents packed into tokens with (T, H, W, L) position ids, the flow-matching schedule
/// linspace(1, 1/n, n) shifted by the empirical mu, embedded guidance (no CFG), then the VAE's latent batch-norm
/// undone, unpatchified and decoded. Engines come from an <see cref="IEngineProvider"/> on first use.
/// </summary>
public sealed class Flux2Pipeline : IGenerationPipeline
{
    /// <summary>Flux2Pipeline.default_sample_size (in latent pixels; × vae_scale_factor gives 1024).</summary>
    const int DefaultSampleSize = 128;
    const double DefaultGuidanceScale = 4.0;

    readonly ModelIndex _index;
    readonly PipelineEngines _engines;
    readonly Flux2ModelConfig _config;
    readonly Flux2PromptTokenizer _tokenizer;
    readonly Flux2LatentStats _stats;
    readonly ComponentConfig _schedulerConfig;

    public PipelineInfo Info { get; }

    public Flux2Pipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        _index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        _config = Flux2ModelConfig.Load(_index);
        _tokenizer = Flux2PromptTokenizer.Load(_index.ComponentDirectory("tokenizer"));
        _stats = Flux2LatentStats.Load(_index.ComponentDirectory("vae"), _config.Vae);
        _schedulerConfig = _index.LoadConfig("scheduler");
        Info = new PipelineInfo
        {
            ClassName = _index.ClassName,
            Family = model.Family,
            ProducesVideo = false,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            Arguments = Flux2RequestRules.Arguments,
            MaxImages = int.MaxValue,
            DefaultHeight = DefaultSampleSize * _config.VaeScaleFactor,
            DefaultWidth = DefaultSampleSize * _config.VaeScaleFactor,
            DefaultSteps = 50,
            SizeMultiple = _config.SizeMultiple,
        };
    }

    IEngine Engine(string component) => _engines.Get(component);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>Joint attention over the 2×2 latent patches and the padded prompt, one sequence per call (guidance is
    /// embedded); the AutoencoderKL decoder at full resolution.</summary>
    public GenerationCost EstimateCost(GenerationRequest request)
    {
        var (height, width, _, maxSeq) = Resolve(request);
        long tokens = (long)(height / _config.SizeMultiple) * (width / _config.SizeMultiple) + maxSeq;
        foreach (var image in ConditioningImages.Of(request))
        {
            var (rh, rw) = Flux2ReferenceImage.CroppedSize(image, _config.SizeMultiple);
            tokens += (long)(rh / _config.SizeMultiple) * (rw / _config.SizeMultiple);
        }
        var t = _config.Transformer;
        return new GenerationCost
        {
            TransformerTokens = tokens, Batch = 1, Heads = t.Heads,
            ActivationBytes = GenerationCost.TransformerActivations(1, tokens, t.WidestDim) +
                GenerationCost.VaeDecoder(height, width, _config.Vae.Vae.BlockOutChannels[0], 1),
            OutputBytes = GenerationCost.Output(1, height, width),
            VaeAttentionTokens = _config.Vae.Vae.MidBlockAddAttention ? (long)(height / _config.VaeScaleFactor) * (width / _config.VaeScaleFactor) : 0,
        };
    }

    (int Height, int Width, int Steps, int MaxSeq) Resolve(GenerationRequest r)
    {
        // with reference images the size defaults to the first one's, as cropped for the VAE
        var references = ConditioningImages.Of(r);
        var (imageHeight, imageWidth) = references.Count > 0 ? Flux2ReferenceImage.CroppedSize(references[0], _config.SizeMultiple) : (Info.DefaultHeight, Info.DefaultWidth);
        int height = r.Height ?? imageHeight, width = r.Width ?? imageWidth;
        int steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        int maxSeq = r.MaxSequenceLength ?? Flux2PromptTokenizer.DefaultMaxSequenceLength;
        Flux2RequestRules.Validate(r, _config, Info, height, width, steps, maxSeq);
        SchedulerShift.Check(r, _schedulerConfig, "FLUX.2", steps);
        if (r.Latents is { } given) Flux2RequestRules.CheckLatents(given, GridShape(height, width));
        return (height, width, steps, maxSeq);
    }

    /// <summary>The patchified latent grid [1, 4·latent_channels, height/16, width/16] of a size.</summary>
    long[] GridShape(int height, int width)
    {
        var (h, w) = Flux2Latents.Grid(height, width, _config.VaeScaleFactor);
        return [1, _config.TransformerInChannels, h, w];
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var (height, width, steps, maxSeq) = Resolve(r);
        float guidanceScale = (float)(r.GuidanceScale ?? DefaultGuidanceScale);

        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, steps));
        var promptEmbeds = EncodePrompt(r.Prompt, maxSeq, ct);
        var textIds = Flux2Latents.TextIds(promptEmbeds.Shape[1]);

        long[] gridShape = GridShape(height, width);
        long h = gridShape[2], w = gridShape[3];
        var grid = r.Latents is { } given
            ? Flux2RequestRules.CheckLatents(given, gridShape)
            : HostTensor.Float32(LatentNoise.Gaussian(gridShape[1] * h * w, r.Seed ?? 0), gridShape);
        var packed = Flux2Latents.Pack(grid);
        var imageIds = Flux2Latents.ImageIds(h, w);
        var references = ConditioningImages.Of(r);
        HostTensor? reference = null;
        if (references.Count > 0)
        {
            var (tokens, ids) = Flux2ReferenceImage.EncodeAll(Engine("vae.encoder"), _stats, references, _config.SizeMultiple, ct);
            reference = tokens;
            imageIds = HostTensor.Float32([.. imageIds.Floats, .. ids.Floats], imageIds.Shape[0] + ids.Shape[0], 4);  // the latents' ids, then the images'
        }

        ct.ThrowIfCancellationRequested();
        var scheduler = SchedulerRegistry.Default.Create(_schedulerConfig, r.Shift);
        Flux2Schedule.SetTimesteps(scheduler, steps, packed.Shape[1]);
        HostTensor? guidance = _config.GuidanceEmbeds ? HostTensor.Float32([guidanceScale], 1) : null;

        var cacheLog = StepCaches.Log(r, steps);
        // FLUX.2 has no TeaCache table: Flux2RequestRules asks for explicit coefficients
        using IStepCache? cache = cacheLog is null ? null : StepCaches.Create(r, cacheLog, []);

        _engines.BeginStage("denoise");
        var constants = new Dictionary<string, HostTensor>
        {
            ["encoder_hidden_states"] = promptEmbeds,
            ["img_ids"] = imageIds,
            ["txt_ids"] = textIds,
        };
        if (guidance is not null) constants["guidance"] = guidance;
        var final = DenoiseResident(scheduler, packed, reference, constants, cache, progress, ct);

        var finalLatents = HostTensor.Float32(final, packed.Shape);
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", steps, steps));
        ct.ThrowIfCancellationRequested();
        var image = Decode(finalLatents, h, w, r.VaeTiling == true, progress, ct);
        ct.ThrowIfCancellationRequested();
        return new GenerationResult(finalLatents, ImagePostprocess.ToNumpyLayout(image), IsVideo: false, Info.FramesPerSecond)
        {
            StepCache = cacheLog?.Report(),
        };
    }

    /// <summary>
    /// The denoising loop where the transformer computes (GPU memory on the native CUDA engine): the packed latents and
    /// the scheduler's steps stay there, the text embedding, ids and guidance are set up once (ids stay on the host,
    /// where the engine reads them), every step's timestep is uploaded before the loop. With a step cache the
    /// prediction comes from it, on the same tensors. With a reference image the transformer reads the latents' tokens
    /// followed by the image's (written once), and the prediction is its first part, the latents' (diffusers:
    /// torch.cat([latents, image_latents], dim=1), then noise_pred[:, :latents.size(1)]). Returns the final latents on the host.
    /// </summary>
    float[] DenoiseResident(IScheduler scheduler, HostTensor packed, HostTensor? reference, Dictionary<string, HostTensor> constants,
        IStepCache? cache, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var transformer = Engine("transformer");
        var resident = transformer.AsResident();
        using var text = new StepInputs(constants);
        using var scope = new EngineTensorScope();
        IEngineTensor? last = null;
        try
        {
            var sample = scope.Own(resident.Upload(packed));
            // the pipeline passes timestep / 1000 in float32; the transformer multiplies it back
            var timesteps = scheduler.Timesteps.Select(t => scope.Own(resident.Upload(HostTensor.Float32([(float)t / 1000f], 1)))).ToList();
            var math = resident.Arithmetic;
            long latentCount = packed.Floats.Length;
            IEngineTensor? joint = null, prediction = null;
            if (reference is not null)
            {
                long channels = packed.Shape[2];
                joint = scope.Own(math.Allocate([1, packed.Shape[1] + reference.Shape[1], channels]));
                math.Copy(joint, latentCount, scope.Own(resident.Upload(reference)), 0, reference.Floats.Length);
                prediction = scope.Own(math.Allocate(packed.Shape));
            }
            DenoisingLoop.Run(scheduler, sample, math, (step, t, x) =>
            {
                last?.Dispose();
                var input = x;
                if (joint is not null)
                {
                    math.Copy(joint, 0, x, 0, latentCount);
                    input = joint;
                }
                // a step cache works on the transformer's whole token stream (the images' tokens too), as it runs
                var perStep = new Dictionary<string, IEngineTensor> { ["hidden_states"] = input, ["timestep"] = timesteps[step] };
                last = cache is null
                    ? text.RunResident(transformer, perStep, "sample", ct)
                    : cache.Predict(step, new PartsTransformer(part => part.Length == 0 ? transformer : Engine($"transformer.{part}"),
                        text, perStep, input, () => TransformerParts.HostTimeEmbedding(Engine($"transformer.{TransformerParts.TimeEmbedding}"),
                            (float)t / 1000f, constants.GetValueOrDefault("guidance")), _config.NumBlocks, ct));
                if (joint is null) return last;
                math.Copy(prediction!, 0, last, 0, latentCount);
                return prediction!;
            }, progress, ct);
            return sample.ToHost().Floats;
        }
        finally
        {
            last?.Dispose();
        }
    }

    /// <summary>_get_mistral_3_small_prompt_embeds: the chat-formatted prompt padded to max_sequence_length through
    /// the text encoder graph (hidden states of layers 10, 20, 30 stacked): [1, seq, 3·hidden].</summary>
    HostTensor EncodePrompt(string prompt, int maxSeq, CancellationToken ct)
    {
        var tokens = _tokenizer.WithMaxSequenceLength(maxSeq).Tokenize(prompt);
        return Engine("text_encoder").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(tokens.InputIds, 1, tokens.Length),
            ["attention_mask"] = HostTensor.Int64(tokens.AttentionMask, 1, tokens.Length),
        }, ct)["prompt_embeds"];
    }

    /// <summary>Batch-norm statistics undone (x·std + mean), tokens back to the grid, 2×2 unpatchify, VAE decoder:
    /// [1, 3, H, W] in about [−1, 1]; with <paramref name="tiled"/>, AutoencoderKLFlux2's tiled decode (AutoencoderKL's
    /// tiled_decode, each tile one decoder call) where the latent exceeds a tile.</summary>
    HostTensor Decode(HostTensor packed, long h, long w, bool tiled, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var latents = DecoderLatents(packed, h, w);
        var decoder = Engine("vae.decoder");
        HostTensor DecodeTile(HostTensor z) => decoder.Run(new Dictionary<string, HostTensor> { ["latents"] = z }, ct)["sample"];
        if (!tiled) return DecodeTile(latents);
        return Vae.AutoencoderKLTiling.For(_config.Vae.Vae).Decode(latents, DecodeTile,
            (done, all) => progress?.Report(new GenerationProgress("decode", done, all)), ct);
    }

    /// <summary>The final packed latents as the VAE decoder takes them: statistics undone, unpacked, unpatchified.</summary>
    internal HostTensor DecoderLatents(HostTensor packed, long h, long w) =>
        Flux2Latents.Unpatchify(Flux2Latents.Unpack(_stats.Denormalize(packed), h, w));

    public void Dispose()
    {
        // engines belong to the provider, which disposes them
        _engines.Clear();
    }
}
