using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Schedulers;
using VisualGen.Tensors;
using VisualGen.Tokenizers.Ltx2;

namespace VisualGen.Pipelines.Ltx2;

/// <summary>
/// diffusers' LTX2Pipeline (LTX-2 text-to-video with audio): Gemma 3 hidden states of every layer through the text
/// connectors (negative and positive prompt batched), joint video/audio denoising with a flow-matching Euler
/// scheduler per stream, guidance in x0 space (CFG batched into the main call; spatio-temporal guidance and modality
/// isolation as extra single-sample calls of their own transformer graphs; guidance rescale), then the video VAE and
/// the audio VAE → vocoder. With a step cache (TeaCache with explicit coefficients, Cache-DiT) the main call predicts
/// through it from the transformer's parts (<see cref="Ltx2CacheLayout"/>); the guidance calls run as they are.
/// Engines: text_encoder, connectors, transformer (and its call kinds, see <see cref="Ltx2TransformerCall"/>, and
/// step-cache parts), vae.decoder, audio_vae.decoder, vocoder.
/// </summary>
public sealed class Ltx2Pipeline : IGenerationPipeline
{
    // diffusers' LTX2Pipeline.__call__ defaults
    const double DefaultGuidance = 3.0, DefaultStg = 1.0, DefaultModality = 3.0, DefaultRescale = 0.7, DefaultAudioGuidance = 7.0;
    const double DefaultFrameRate = 24.0;
    static readonly int[] DefaultStgBlocks = [28];

    readonly ModelIndex _index;
    readonly PipelineEngines _engines;
    readonly Ltx2TransformerConfig _transformer;
    readonly Ltx2VideoVaeConfig _vae;

    /// <summary>The video VAE's tiles for requests with vae_tiling (diffusers' enable_tiling() defaults; its
    /// tile_sample_min/stride arguments set here).</summary>
    internal Vae.CausalVaeTiling VaeTiles { get; set; }
    readonly Ltx2AudioVaeConfig _audioVae;
    readonly Ltx2VocoderConfig _vocoder;
    readonly Ltx2PromptTokenizer _tokenizer;
    readonly ComponentConfig _schedulerConfig;
    /// <summary>The Gemma 3 text encoder's max_position_embeddings (text_config; transformers' default 131072): the
    /// longest prompt max_sequence_length may ask for.</summary>
    readonly int _textMaxPositions;
    /// <summary>The text connectors' config: with learnable registers, the prompt length must be a multiple of their count.</summary>
    readonly Ltx2ConnectorsConfig _connectors;
    readonly float[] _videoMean, _videoStd, _audioMean, _audioStd;

    public PipelineInfo Info { get; }

    public Ltx2Pipeline(DetectedModel model, IEngineProvider engines, IProgress<string>? log = null)
    {
        _index = model.RequireIndex();
        _engines = new PipelineEngines(model.Path, engines, log);
        // LoadConfig: a folder's config.json, or the config mapped from a monolithic file's metadata
        _transformer = Ltx2TransformerConfig.From(_index.LoadConfig("transformer"));
        _vae = Ltx2VideoVaeConfig.From(_index.LoadConfig("vae"));
        VaeTiles = Vae.CausalVaeTiling.ForLtx2(_vae.SpatialCompression);
        _audioVae = Ltx2AudioVaeConfig.From(_index.LoadConfig("audio_vae"));
        _vocoder = Ltx2VocoderConfig.From(_index.LoadConfig("vocoder"));
        _tokenizer = Ltx2PromptTokenizer.Load(_index.ComponentDirectory("tokenizer"));
        _schedulerConfig = _index.LoadConfig("scheduler");
        var textEncoder = _index.LoadConfig("text_encoder");
        _textMaxPositions = (textEncoder.GetOptionalObject("text_config") ?? textEncoder).GetInt("max_position_embeddings", 131072);
        _connectors = Ltx2ConnectorsConfig.From(_index.LoadConfig("connectors"));
        (_videoMean, _videoStd) = LatentStats("vae", _vae.LatentChannels);
        (_audioMean, _audioStd) = LatentStats("audio_vae", null);
        Info = new PipelineInfo
        {
            ClassName = _index.ClassName,
            Family = model.Family,
            ProducesVideo = true,
            TakesShift = SchedulerShift.Applies(_schedulerConfig),
            Arguments = ArgumentsTaken,
            DefaultHeight = 512,
            DefaultWidth = 768,
            DefaultNumFrames = 121,
            FrameMultiple = _vae.TemporalCompression,
            DefaultSteps = 30,
            SizeMultiple = 32,
            FramesPerSecond = (int)DefaultFrameRate,
        };
    }

    /// <summary>latents_mean / latents_std buffers of a VAE's weights.</summary>
    (float[] Mean, float[] Std) LatentStats(string component, int? channels)
    {
        string dir = _index.ComponentPath(component);
        using var weights = _index.OpenTensors(component);
        float[] Read(string name)
        {
            if (!weights.Contains(name)) throw new CheckpointException(dir, $"missing weight '{name}' (the latent statistics LTX2Pipeline normalizes with)");
            var v = weights.ReadFloat32(name);
            if (channels is int c && v.Length != c) throw new CheckpointException(dir, $"weight '{name}' has {v.Length} values; latent_channels is {c}");
            return v;
        }
        var (mean, std) = (Read("latents_mean"), Read("latents_std"));
        if (mean.Length != std.Length) throw new CheckpointException(dir, $"latents_mean has {mean.Length} values, latents_std {std.Length}");
        return (mean, std);
    }

    IEngine Engine(string component) => _engines.Get(component);

    public Task<GenerationResult> GenerateAsync(GenerationRequest request, IProgress<GenerationProgress>? progress = null,
        CancellationToken cancellationToken = default) =>
        Task.Run(() => Generate(request, progress, cancellationToken), cancellationToken);

    public void Validate(GenerationRequest request) => Resolve(request);

    /// <summary>A request resolved against diffusers' defaults.</summary>
    sealed record Plan(int Height, int Width, int Frames, int Steps, int MaxSeq, double FrameRate, Ltx2GuidanceScales Video,
        Ltx2GuidanceScales Audio, int[] StgBlocks, bool UseCrossTimestep, int LatentFrames, int LatentHeight, int LatentWidth,
        int AudioFrames, int LatentMelBins)
    {
        public bool Cfg => Video.UsesCfg || Audio.UsesCfg;
        public bool Stg => Video.UsesStg || Audio.UsesStg;
        public bool Modality => Video.UsesModality || Audio.UsesModality;
        public long VideoTokens => (long)LatentFrames * LatentHeight * LatentWidth;
    }

    /// <summary>LTX2Pipeline's call arguments: CFG with a negative prompt, the frame rate, and its own guidance terms and audio stream.</summary>
    static readonly IReadOnlyList<CallArgument> ArgumentsTaken =
    [
        CallArguments.NegativePrompt, CallArguments.NumFrames, CallArguments.GuidanceScale, CallArguments.MaxSequenceLength, CallArguments.Fps,
        .. CallArguments.Ltx2,
    ];

    static readonly Dictionary<CallArgument, string> Reasons = new()
    {
        [CallArguments.GuidanceScale2] = "it is a Wan 2.2 A14B argument; use audio_guidance_scale for the audio stream",
        [CallArguments.TrueCfgScale] = "it takes guidance_scale (batched classifier-free guidance); true_cfg_scale applies to Qwen-Image and FLUX.1",
        [CallArguments.Image] = "it is text-to-video",
    };

    Plan Resolve(GenerationRequest r)
    {
        CallArguments.Refuse(r, Info, Info.ClassName, Reasons);
        int height = r.Height ?? Info.DefaultHeight, width = r.Width ?? Info.DefaultWidth;
        int frames = r.NumFrames ?? Info.DefaultNumFrames, steps = r.NumInferenceSteps ?? Info.DefaultSteps;
        int maxSeq = r.MaxSequenceLength ?? Ltx2PromptTokenizer.DefaultMaxSequenceLength;
        double frameRate = r.Fps ?? DefaultFrameRate;
        CommonArguments.Check(r, steps);
        if (height <= 0 || height % 32 != 0) throw new GenerationException("height", $"height must be a positive multiple of 32, got {height}");
        if (width <= 0 || width % 32 != 0) throw new GenerationException("width", $"width must be a positive multiple of 32, got {width}");
        int temporal = _vae.TemporalCompression;
        // the video VAE decodes 1 + k·temporal frames; diffusers would return fewer frames than asked for without a word
        if (frames < 1 || (frames - 1) % temporal != 0)
            throw new GenerationException("num_frames", $"num_frames must be {temporal}k+1 (1, {1 + temporal}, {1 + 2 * temporal}, ...: the video VAE compresses time by {temporal}), got {frames}");
        if (maxSeq < 1) throw new GenerationException("max_sequence_length", $"max_sequence_length must be at least 1, got {maxSeq}");
        // diffusers' LTX2Pipeline sets no upper limit (check_inputs does not look at it; the prompt is padded to it); the
        // text encoder's positions do. A larger value ran until Gemma's attention could not be allocated at encode
        // (100000 tokens: an 80 GB buffer)
        if (maxSeq > _textMaxPositions)
            throw new GenerationException("max_sequence_length", $"max_sequence_length must be at most {_textMaxPositions} (the Gemma 3 text encoder's max_position_embeddings), got {maxSeq}");
        // diffusers' LTX2ConnectorTransformer1d tiles its learnable registers over the padded prompt and raises a
        // ValueError when the length is not a multiple of their count (128 in LTX-2); the connectors engine failed late
        foreach (var (key, registers) in new[] { ("video_connector_num_learnable_registers", _connectors.VideoConnectorNumLearnableRegisters),
                                                 ("audio_connector_num_learnable_registers", _connectors.AudioConnectorNumLearnableRegisters) })
            if (registers is int n && n > 0 && maxSeq % n != 0)
                throw new GenerationException("max_sequence_length", $"max_sequence_length must be a multiple of {n} (the text connectors' learnable registers, {key}), got {maxSeq}");
        if (!(frameRate > 0) || double.IsInfinity(frameRate)) throw new GenerationException("frame_rate", $"frame_rate must be a positive number, got {frameRate}");
        Caching.StepCaches.ValidateWithoutTeaCacheTable(r, _transformer.NumLayers, "LTX-2");
        if ((r.TeaCache is not null || r.CacheDit is not null) &&
            ((_transformer.OutChannels ?? _transformer.InChannels) != _transformer.InChannels || (_transformer.AudioOutChannels ?? _transformer.AudioInChannels) != _transformer.AudioInChannels))
            throw new GenerationException(r.TeaCache is not null ? "teacache_thresh" : "cache_dit",
                "step caches reuse a residual (prediction − latents), which needs the transformer's out_channels equal to its in_channels (video and audio); this checkpoint's differ");
        SchedulerShift.Check(r, _schedulerConfig, "LTX-2", steps);

        static double Check(string name, double v, double min)
        {
            if (double.IsNaN(v) || double.IsInfinity(v) || v < min) throw new GenerationException(name, $"{name} must be a number ≥ {min}, got {v}");
            return v;
        }
        double guidance = Check("guidance_scale", r.GuidanceScale ?? DefaultGuidance, 0);
        double stg = Check("stg_scale", r.StgScale ?? DefaultStg, 0);
        double modality = Check("modality_scale", r.ModalityScale ?? DefaultModality, 0);
        double rescale = Check("guidance_rescale", r.GuidanceRescale ?? DefaultRescale, 0);
        if (rescale > 1) throw new GenerationException("guidance_rescale", $"guidance_rescale must be between 0 and 1, got {rescale}");
        // diffusers: `audio_x = audio_x or x` — an audio value of 0 takes the video one
        double Or(double v, double video) => v == 0 ? video : v;
        double audioGuidance = Or(Check("audio_guidance_scale", r.AudioGuidanceScale ?? DefaultAudioGuidance, 0), guidance);
        double audioStg = Or(Check("audio_stg_scale", r.AudioStgScale ?? DefaultStg, 0), stg);
        double audioModality = Or(Check("audio_modality_scale", r.AudioModalityScale ?? DefaultModality, 0), modality);
        double audioRescale = Or(Check("audio_guidance_rescale", r.AudioGuidanceRescale ?? DefaultRescale, 0), rescale);
        if (audioRescale > 1) throw new GenerationException("audio_guidance_rescale", $"audio_guidance_rescale must be between 0 and 1, got {audioRescale}");
        var video = new Ltx2GuidanceScales(guidance, stg, modality, rescale);
        var audio = new Ltx2GuidanceScales(audioGuidance, audioStg, audioModality, audioRescale);

        int[] blocks = [.. (r.SpatioTemporalGuidanceBlocks ?? DefaultStgBlocks)];
        if (r.SpatioTemporalGuidanceBlocks is null && blocks.All(b => b >= _transformer.NumLayers))
        {
            // LTX-2's default block lies beyond a smaller model's blocks: diffusers then perturbs nothing, its STG call
            // repeats the conditional prediction and the STG term is exactly zero, so that call is left out. Blocks a
            // caller names must exist (below).
            video = video with { Stg = 0 };
            audio = audio with { Stg = 0 };
            blocks = [];
        }
        if (video.UsesStg || audio.UsesStg)
        {
            if (blocks.Length == 0)
                throw new GenerationException("spatio_temporal_guidance_blocks", "spatio_temporal_guidance_blocks must name at least one block when stg_scale or audio_stg_scale is > 0");
            // diffusers skips blocks the model does not have; a block that perturbs nothing is refused here instead
            foreach (int b in blocks)
                if (b < 0 || b >= _transformer.NumLayers)
                    throw new GenerationException("spatio_temporal_guidance_blocks",
                        $"block {b} is not one of the transformer's {_transformer.NumLayers} blocks (0..{_transformer.NumLayers - 1})");
            if (blocks.Distinct().Count() != blocks.Length)
                throw new GenerationException("spatio_temporal_guidance_blocks", $"a block is listed twice: {string.Join(",", blocks)}");
        }

        int sc = _vae.SpatialCompression, tc = _vae.TemporalCompression;
        int p = _transformer.PatchSize, pt = _transformer.PatchSizeT;
        int latentFrames = (frames - 1) / tc + 1, latentHeight = height / sc, latentWidth = width / sc;
        if (latentHeight % p != 0 || latentWidth % p != 0 || latentFrames % pt != 0)
            throw new GenerationException("height", $"the latent grid {latentFrames}×{latentHeight}×{latentWidth} is not divisible by the transformer's patch size {pt}×{p}×{p}");
        long packedFeatures = (long)_transformer.InChannels;
        long tokens = (long)(latentFrames / pt) * (latentHeight / p) * (latentWidth / p);
        // each host array must fit one .NET array: the decoded video (frames × height × width × 3 floats) and the
        // latents and RoPE coordinates of the guidance passes batched together (up to 3 × tokens × features, 3 × 6 per token)
        long largest = Math.Max((long)frames * height * width * 3, 3 * tokens * Math.Max(packedFeatures, 6));
        if (largest > Array.MaxLength)
            throw new GenerationException("height", $"{width}x{height}x{frames} is larger than this pipeline can hold: it needs an array of {largest:N0} " +
                $"values, and one holds at most {Array.MaxLength:N0}; ask for a smaller size or fewer frames");
        // the resolution shift grows with the token count: far past max_image_seq_len it puts every sigma at 1 in float32,
        // which shift_terminal cannot stretch (diffusers' sigmas become NaN). Refused here, with the request's other
        // arguments, not once the prompt is encoded (a server job then failed after its wait with no reason given)
        try { Schedule(_schedulerConfig, tokens, steps, r.Shift); }
        catch (SchedulerException) when (steps >= 2)
        {
            throw new GenerationException("height", $"{width}x{height} with {frames} frames is {tokens:N0} video tokens, too many for this " +
                "scheduler: its resolution shift then makes every sigma 1 in float32, which it cannot stretch to shift_terminal " +
                "(diffusers' result would be NaN); ask for a smaller size or fewer frames");
        }
        if (r.Latents is { } given)
        {
            long[] packed = [1, tokens, packedFeatures];
            long[] unpacked = [1, packedFeatures / ((long)pt * p * p), latentFrames, latentHeight, latentWidth];
            bool ok = given.DType == TensorDType.F32 && (given.Shape.SequenceEqual(packed) || given.Shape.SequenceEqual(unpacked));
            if (!ok) throw new GenerationException("latents",
                $"latents must be float32, packed [{string.Join(", ", packed)}] or unpacked [{string.Join(", ", unpacked)}] for this size and frame count, got {given.DType} {given.ShapeText}");
        }

        int melCompression = Ltx2AudioVaeConfig.LatentDownsampleFactor;
        int latentMelBins = (_audioVae.MelBins ?? 64) / melCompression;
        double latentsPerSecond = (double)_audioVae.SampleRate / _audioVae.MelHopLength / melCompression;
        int audioFrames = (int)Math.Round(frames / frameRate * latentsPerSecond, MidpointRounding.ToEven);
        if (r.AudioLatents is { } audioGiven)
        {
            if (audioGiven.DType != TensorDType.F32 || audioGiven.Rank != 4 || audioGiven.Shape[0] != 1 ||
                audioGiven.Shape[1] != _audioVae.LatentChannels || audioGiven.Shape[3] != latentMelBins || audioGiven.Shape[2] < 1)
                throw new GenerationException("audio_latents",
                    $"audio_latents must be float32 [1, {_audioVae.LatentChannels}, length, {latentMelBins}] (batch, latent channels, length, latent mel bins), got {audioGiven.DType} {audioGiven.ShapeText}");
            audioFrames = (int)audioGiven.Shape[2];   // diffusers infers the audio length from the given latents
        }
        if (audioFrames < 1) throw new GenerationException("num_frames", $"{frames} frames at {frameRate} fps make no audio latent frame; generate more frames");
        if (_audioMean.Length != (long)_audioVae.LatentChannels * latentMelBins)
            throw new CheckpointException(_index.ComponentPath("audio_vae"),
                $"latents_mean has {_audioMean.Length} values; packed audio latents have latent_channels × mel_bins/4 = {_audioVae.LatentChannels * latentMelBins} features");
        return new Plan(height, width, frames, steps, maxSeq, frameRate, video, audio, blocks, r.UseCrossTimestep ?? true,
            latentFrames, latentHeight, latentWidth, audioFrames, latentMelBins);
    }

    GenerationResult Generate(GenerationRequest r, IProgress<GenerationProgress>? progress, CancellationToken ct)
    {
        var plan = Resolve(r);
        int p = _transformer.PatchSize, pt = _transformer.PatchSizeT;
        int gridF = plan.LatentFrames / pt, gridH = plan.LatentHeight / p, gridW = plan.LatentWidth / p;
        long tokens = plan.VideoTokens / ((long)pt * p * p);

        // 1. latents: video packed as given (unpacked ones are normalized, then packed), audio packed then normalized
        long[] videoShape = [1, _transformer.InChannels / (pt * p * p), plan.LatentFrames, plan.LatentHeight, plan.LatentWidth];
        var video = r.Latents switch
        {
            // a copy: the loop steps the latents in place, and the caller's request must stay as it was (a second
            // run of the same request gave other results)
            { Rank: 3 } packed => HostTensor.Float32((float[])packed.Floats.Clone(), packed.Shape),
            { } unpacked => Ltx2Latents.PackVideo(Ltx2Latents.NormalizeVideo(unpacked, _videoMean, _videoStd, _vae.ScalingFactor), p, pt),
            null => Ltx2Latents.PackVideo(HostTensor.Float32(LatentNoise.Gaussian(videoShape.Aggregate(1L, (a, b) => a * b), r.Seed ?? 0), videoShape), p, pt),
        };
        long[] audioShape = [1, _audioVae.LatentChannels, plan.AudioFrames, plan.LatentMelBins];
        var audio = r.AudioLatents is { } givenAudio
            ? Ltx2Latents.NormalizeLastAxis(Ltx2Latents.PackAudio(givenAudio), _audioMean, _audioStd)
            // a noise stream of its own (seed + 1), so the video's noise is the same with or without audio
            : Ltx2Latents.PackAudio(HostTensor.Float32(LatentNoise.Gaussian(audioShape.Aggregate(1L, (a, b) => a * b), (r.Seed ?? 0) + 1), audioShape));

        // 2. prompt: Gemma hidden states of every layer, negative first when guided, through the connectors together
        _engines.BeginStage("encode");
        progress?.Report(new GenerationProgress("encode", 0, plan.Steps));
        var tokenizer = new Ltx2PromptTokenizer(_tokenizer.Tokenizer, plan.MaxSeq);
        var (states, mask) = EncodePrompt(tokenizer, r.Prompt, ct);
        if (plan.Cfg)
        {
            var (negStates, negMask) = EncodePrompt(tokenizer, r.NegativePrompt ?? "", ct);
            states = Concat(negStates, states);
            mask = HostTensor.Int64([.. negMask.Longs, .. mask.Longs], 2, mask.Shape[1]);
        }
        var connectors = Engine("connectors").Run(new Dictionary<string, HostTensor>
        {
            ["text_encoder_hidden_states"] = states,
            ["attention_mask"] = mask,
        }, ct);
        ct.ThrowIfCancellationRequested();
        var videoText = connectors["video_text_embedding"];
        var audioText = connectors["audio_text_embedding"];
        var textMask = connectors["attention_mask_out"];

        // 3. schedules: sigmas linspace(1, 1/n, n) shifted by mu from the video token count; one scheduler per stream
        var scheduler = Schedule(_schedulerConfig, tokens, plan.Steps, r.Shift);
        var audioScheduler = Schedule(_schedulerConfig, tokens, plan.Steps, r.Shift);

        // 4. RoPE coordinates, the same every step
        var videoCoords = Ltx2Latents.VideoCoords(1, plan.LatentFrames, plan.LatentHeight, plan.LatentWidth, p, pt,
            _transformer.VaeScaleFactors, _transformer.CausalOffset, (float)plan.FrameRate);
        var audioCoords = Ltx2Latents.AudioCoords(1, plan.AudioFrames, _transformer.AudioPatchSizeT, _transformer.AudioScaleFactor,
            _transformer.CausalOffset, _transformer.AudioHopLength, _transformer.AudioSamplingRate);
        int batch = plan.Cfg ? 2 : 1;
        var mainConstant = new Dictionary<string, HostTensor>
        {
            ["encoder_hidden_states"] = videoText,
            ["audio_encoder_hidden_states"] = audioText,
            ["encoder_attention_mask"] = textMask,
            ["audio_encoder_attention_mask"] = textMask,
            ["video_coords"] = Repeat(videoCoords, batch),
            ["audio_coords"] = Repeat(audioCoords, batch),
        };
        // the extra guidance calls take the positive prompt alone
        var condConstant = new Dictionary<string, HostTensor>
        {
            ["encoder_hidden_states"] = Row(videoText, batch - 1),
            ["audio_encoder_hidden_states"] = Row(audioText, batch - 1),
            ["encoder_attention_mask"] = Row(textMask, batch - 1),
            ["audio_encoder_attention_mask"] = Row(textMask, batch - 1),
            ["video_coords"] = videoCoords,
            ["audio_coords"] = audioCoords,
        };
        string main = new Ltx2TransformerCall(plan.UseCrossTimestep).Component();
        string stgCall = new Ltx2TransformerCall(plan.UseCrossTimestep, StgBlocks: plan.StgBlocks).Component();
        string isolatedCall = new Ltx2TransformerCall(plan.UseCrossTimestep, IsolateModalities: true).Component();

        // step caches: the main (CFG) call predicts through them, batched as it runs; the extra guidance calls run as they are
        var cacheLog = Caching.StepCaches.Log(r, plan.Steps);
        using Caching.IStepCache? cache = cacheLog is null ? null : Caching.StepCaches.Create(r, cacheLog, []);
        using var mainInputs = cache is null ? null : new StepInputs(mainConstant);

        // 5. denoising
        _engines.BeginStage("denoise");
        progress?.Report(new GenerationProgress("denoise", 0, plan.Steps));
        float[] v = video.Floats, a = audio.Floats;
        for (int i = 0; i < plan.Steps; i++)
        {
            ct.ThrowIfCancellationRequested();
            float t = (float)scheduler.Timesteps[i];
            float sigma = (float)scheduler.Sigmas[i], audioSigma = (float)audioScheduler.Sigmas[i];
            // this step's latents and timestep, one copy per batch row
            Dictionary<string, HostTensor> StepTensors(int rows) => new()
            {
                ["hidden_states"] = HostTensor.Float32(RepeatData(v, rows), rows, tokens, video.Shape[2]),
                ["audio_hidden_states"] = HostTensor.Float32(RepeatData(a, rows), rows, audio.Shape[1], audio.Shape[2]),
                ["timestep"] = HostTensor.Float32(Enumerable.Repeat(t, rows).ToArray(), rows),
                ["sigma"] = HostTensor.Float32(Enumerable.Repeat(t, rows).ToArray(), rows),
            };
            (float[] Video, float[] Audio) Call(string component, Dictionary<string, HostTensor> constant, int rows)
            {
                var inputs = new Dictionary<string, HostTensor>(constant);
                foreach (var (name, tensor) in StepTensors(rows)) inputs[name] = tensor;
                var outputs = Engine(component).Run(inputs, ct);
                return (outputs["sample"].Floats, outputs["audio_sample"].Floats);
            }

            (float[] Video, float[] Audio) Cached()
            {
                var whole = Engine(main);
                using var uploads = new EngineTensorScope();
                var perStep = uploads.Upload(whole.AsResident(), StepTensors(batch));
                using var call = new Ltx2CachedCall(whole, part => Engine($"transformer.{Ltx2CacheLayout.Part(part, plan.UseCrossTimestep)}"), mainInputs!, perStep,
                    () => Caching.TransformerParts.HostTimeEmbedding(Engine($"transformer.{Caching.TransformerParts.TimeEmbedding}"), t), _transformer.NumLayers, ct);
                using var prediction = cache!.Predict(i, call);
                return Ltx2CacheLayout.Split(prediction.ToHost().Floats, batch, v.Length);
            }

            var (videoOut, audioOut) = cache is null ? Call(main, mainConstant, batch) : Cached();
            float[] Half(float[] x, int row) => x.AsSpan(row * (x.Length / batch), x.Length / batch).ToArray();
            var videoCond = Ltx2Guidance.VelocityToX0(v, Half(videoOut, batch - 1), sigma);
            var audioCond = Ltx2Guidance.VelocityToX0(a, Half(audioOut, batch - 1), audioSigma);
            float[]? videoUncond = null, audioUncond = null, videoStg = null, audioStg = null, videoIso = null, audioIso = null;
            if (plan.Cfg)
            {
                videoUncond = Ltx2Guidance.VelocityToX0(v, Half(videoOut, 0), sigma);
                audioUncond = Ltx2Guidance.VelocityToX0(a, Half(audioOut, 0), audioSigma);
            }
            if (plan.Stg && !_transformer.PerturbedAttn)
            {
                // without perturbed_attn the STG blocks perturb nothing: diffusers' STG call repeats the conditional
                // prediction on the same inputs, so its delta is zero and the call is not made
                videoStg = videoCond;
                audioStg = audioCond;
            }
            else if (plan.Stg)
            {
                var (sv, sa) = Call(stgCall, condConstant, 1);
                videoStg = Ltx2Guidance.VelocityToX0(v, sv, sigma);
                audioStg = Ltx2Guidance.VelocityToX0(a, sa, audioSigma);
            }
            if (plan.Modality)
            {
                var (iv, ia) = Call(isolatedCall, condConstant, 1);
                videoIso = Ltx2Guidance.VelocityToX0(v, iv, sigma);
                audioIso = Ltx2Guidance.VelocityToX0(a, ia, audioSigma);
            }
            var videoGuided = Ltx2Guidance.Combine(videoCond, videoUncond, videoStg, videoIso, plan.Video);
            var audioGuided = Ltx2Guidance.Combine(audioCond, audioUncond, audioStg, audioIso, plan.Audio);
            var videoVelocity = Ltx2Guidance.X0ToVelocity(v, videoGuided, sigma);
            var audioVelocity = Ltx2Guidance.X0ToVelocity(a, audioGuided, audioSigma);
            scheduler.Step(videoVelocity, i, v, v);
            audioScheduler.Step(audioVelocity, i, a, a);
            progress?.Report(new GenerationProgress("denoise", i + 1, plan.Steps));
        }

        // 6. decode: video latents unpacked and de-normalized; audio de-normalized, unpacked, to mel, to waveform
        _engines.BeginStage("decode");
        progress?.Report(new GenerationProgress("decode", plan.Steps, plan.Steps));
        ct.ThrowIfCancellationRequested();
        var videoLatents = Ltx2Latents.DenormalizeVideo(
            Ltx2Latents.UnpackVideo(HostTensor.Float32(v, video.Shape), gridF, gridH, gridW, p, pt), _videoMean, _videoStd, _vae.ScalingFactor);
        var audioLatents = Ltx2Latents.UnpackAudio(
            Ltx2Latents.DenormalizeLastAxis(HostTensor.Float32(a, audio.Shape), _audioMean, _audioStd), plan.LatentMelBins);
        var decoder = Engine("vae.decoder");
        HostTensor DecodeVideo(HostTensor z) => decoder.Run(new Dictionary<string, HostTensor> { ["latents"] = z }, ct)["sample"];
        var decoded = r.VaeTiling == true && VaeTiles.Applies(videoLatents)
            ? VaeTiles.TiledDecode(videoLatents, DecodeVideo, (done, all) => progress?.Report(new GenerationProgress("decode", done, all)), ct)
            : DecodeVideo(videoLatents);
        ct.ThrowIfCancellationRequested();
        var mel = Engine("audio_vae.decoder").Run(new Dictionary<string, HostTensor> { ["latents"] = audioLatents }, ct)["mel"];
        var waveform = Engine("vocoder").Run(new Dictionary<string, HostTensor> { ["mel"] = mel }, ct)["waveform"];
        ct.ThrowIfCancellationRequested();
        return new GenerationResult(videoLatents, VideoPostprocess.ToNumpyLayout(decoded), IsVideo: true, plan.FrameRate)
        {
            StepCache = cacheLog?.Report(),
            AudioLatents = audioLatents,
            Audio = waveform,
            AudioSampleRate = _vocoder.OutputSamplingRate,
        };
    }

    /// <summary>The scheduler with LTX2Pipeline's timesteps: sigmas linspace(1, 1/n, n), mu from the video token count
    /// (calculate_shift with LTX-2's defaults where the scheduler config has none).</summary>
    public static IScheduler Schedule(ComponentConfig schedulerConfig, long videoTokens, int steps, double? shift = null)
    {
        double mu = FlowSigmas.CalculateShift(videoTokens,
            schedulerConfig.GetInt("base_image_seq_len", 1024), schedulerConfig.GetInt("max_image_seq_len", 4096),
            schedulerConfig.GetDouble("base_shift", 0.95), schedulerConfig.GetDouble("max_shift", 2.05));
        var scheduler = SchedulerRegistry.Default.Create(schedulerConfig, shift);
        scheduler.SetTimesteps(steps, mu, FlowSigmas.Linspace(1.0, 1.0 / steps, steps));
        return scheduler;
    }

    /// <summary>_get_gemma_prompt_embeds: left-padded tokens; the encoder's hidden states of every layer stacked on the last axis.</summary>
    (HostTensor States, HostTensor Mask) EncodePrompt(Ltx2PromptTokenizer tokenizer, string prompt, CancellationToken ct)
    {
        var tok = tokenizer.Tokenize(prompt);
        var mask = HostTensor.Int64(tok.AttentionMask, 1, tok.Length);
        var states = Engine("text_encoder").Run(new Dictionary<string, HostTensor>
        {
            ["input_ids"] = HostTensor.Int64(tok.InputIds, 1, tok.Length),
            ["attention_mask"] = mask,
        }, ct)["hidden_states"];
        return (states, mask);
    }

    static HostTensor Concat(HostTensor a, HostTensor b) =>
        HostTensor.Float32([.. a.Floats, .. b.Floats], [a.Shape[0] + b.Shape[0], .. a.Shape[1..]]);

    static HostTensor Repeat(HostTensor x, int times) => HostTensor.Float32(RepeatData(x.Floats, times), [x.Shape[0] * times, .. x.Shape[1..]]);

    static float[] RepeatData(float[] x, int times)
    {
        if (times == 1) return x;
        var all = new float[x.LongLength * times];
        for (int i = 0; i < times; i++) Array.Copy(x, 0, all, x.LongLength * i, x.LongLength);
        return all;
    }

    /// <summary>Batch row <paramref name="row"/> of a float32 or int64 tensor, batch 1.</summary>
    static HostTensor Row(HostTensor x, int row)
    {
        long size = x.Shape.Skip(1).Aggregate(1L, (m, d) => m * d);
        long[] shape = [1, .. x.Shape[1..]];
        return x.DType == TensorDType.I64
            ? HostTensor.Int64(x.Longs.AsSpan((int)(row * size), (int)size).ToArray(), shape)
            : HostTensor.Float32(x.Floats.AsSpan((int)(row * size), (int)size).ToArray(), shape);
    }

    public void Dispose() => _engines.Clear();
}
