using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Caching;
using VisualGen.Tensors;
using VisualGen.Tokenizers;

namespace VisualGen.Cli;

/// <summary>
/// <c>generate</c>: flags named after diffusers' call arguments; writes MP4/PNG and optionally the tensors. Everything
/// that can be checked is checked before the prompt is encoded: flags, the engine cache and output locations, ffmpeg
/// for MP4, whether the pipeline takes an image (before the image is decoded), the request, and prompt truncation.
/// </summary>
public static class GenerateCommand
{
    public static readonly string[] Flags =
    [
        "model", "prompt", "negative-prompt", "height", "width", "frames", "steps", "guidance-scale", "guidance-scale-2",
        "true-cfg-scale", "shift", "seed", "max-sequence-length", "fps", "image", "latents", "save-tensors", "output", "format",
        "frame-rate", "stg-scale", "modality-scale", "guidance-rescale", "audio-guidance-scale", "audio-stg-scale",
        "audio-modality-scale", "audio-guidance-rescale", "spatio-temporal-guidance-blocks", "use-cross-timestep", "max-area", "strength", "last-image",
        "prompt-file", "mask-image", "num-images-per-prompt",
        .. RunConfiguration.Flags, .. RunConfiguration.GenerationFlags, .. StepCacheFlags.Names,
    ];

    public static int Run(string[] args, TextWriter output, TextWriter log, CliEnvironment environment) =>
        Run(args, output, log, environment, CancellationToken.None);

    /// <summary>Ctrl+C cancels the command (<paramref name="cancellation"/> too, as tests cancel it): a generation stops
    /// at its next step, and an engine it is exporting into the engine cache (the first run of a model builds them) stops
    /// as build's does, leaving no temporary folder (exit 130, "cancelled").</summary>
    public static int Run(string[] args, TextWriter output, TextWriter log, CliEnvironment environment, CancellationToken cancellation)
    {
        var cl = new CommandLine(args, Flags, repeatable: ["image"], text: ["prompt", "negative-prompt"]);
        var requested = OutputTarget.FromFlags(cl.String("output"), cl.String("format"));
        var settings = RunConfiguration.FromFlags(cl);
        string model;
        if (cl.String("model") is { } m) model = Path.GetFullPath(m);
        else
        {
            model = DemoModel.EnsureConfigured();
            log.WriteLine($"no --model given: using the built-in tiny demo model at {model}. {DemoModel.Notice}");
        }
        var prompts = PromptFile.Read(cl);
        var request = RequestFromFlags(cl, prompts, settings);
        int perPrompt = cl.Int("num-images-per-prompt") is int k
            ? k is >= 1 and <= 10000 ? k : throw new UsageException($"--num-images-per-prompt must be between 1 and 10000, got {k}")
            : 1;
        PromptFile.CheckSeeds(request.Seed, (prompts?.Count ?? 1) * perPrompt);
        // the generations of a prompt differ only by their seed, which given latents replace: N copies of one output
        if (perPrompt > 1 && cl.String("latents") is not null)
            throw new UsageException($"--latents with --num-images-per-prompt {perPrompt}: every generation of a prompt would start from the same latents and give the same output; give one of them");
        var clock = Stopwatch.StartNew();
        if (Runtime.DefaultEngineNote(settings.Engine) is { } note) log.WriteLine(note);
        EngineCacheLocation.Require(Runtime.CacheDirectory(settings.EngineCache), log);
        // the command's token, which Ctrl+C cancels below: the provider holds it, so the exports and builds the pipeline's
        // engine requests start stop with it (pipelines request engines without a token of their own)
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        using var engines = RunConfiguration.CreateEngineProvider(settings, new LineProgress(l => log.WriteLine("  " + l)), cancellation: cancel.Token);
        // loading a pipeline reads configs and tokenizers only: engines are built on first use
        // the config file's cache_config unless a cache flag chose one
        using var pipeline = new CacheDefaultPipeline(ModelFamilies.CreateRegistry().Create(model, engines), settings.TeaCache, settings.CacheDit);
        var info = pipeline.Info;
        engines.CheckReady(model);
        request = WithInputFiles(request, cl, info);
        // a prompt file: one request a line, the seed counting up from --seed; each is checked before the first runs
        var requests = PromptFile.Requests(request, prompts ?? [request.Prompt], perPrompt);
        bool numbered = requests.Count > 1 || prompts is not null;
        foreach (var (r, i) in requests.Select((r, i) => (r, i)))
        {
            try { pipeline.Validate(r); }
            catch (GenerationException e) when (prompts is not null) { throw new GenerationException(e.Parameter, $"--prompt-file prompt {i / perPrompt + 1}: {e.Message}"); }
        }

        bool audio = info.Takes(CallArguments.AudioLatents);   // LTX-2's soundtrack: FOLDER.wav beside PNG frames
        // a video model asked for one frame makes an image (Cosmos3's text-to-image): a PNG file, not a folder of one frame
        var target = requested.For(info, oneFrame: info.ProducesVideo && !audio && requests.All(r => r.NumFrames == 1));
        var writer = new MediaWriter(new Mp4Writer(searchPath: environment.FfmpegSearchPath));
        if (numbered)
        {
            MediaWriter.RefuseFolder(target.Path, target.Format, target.WritesVideo);  // numbered beside it, not inside it
            for (int i = 0; i < requests.Count; i++) writer.CheckTarget(PromptFile.Numbered(target.Path, i, requests.Count), target.Format, target.WritesVideo, audio);
        }
        else writer.CheckTarget(target.Path, target.Format, target.WritesVideo, audio);
        string? tensorsPath = cl.String("save-tensors");
        cl.RequireOutputBesideInput("save-tensors", "latents");
        if (tensorsPath is not null) WritableLocation.RequireFile("--save-tensors", tensorsPath);
        // the media were written after the tensors, over them (or the tensors over a PNG video's soundtrack), and the run said only "wrote"
        for (int i = 0; tensorsPath is not null && i < (numbered ? requests.Count : 1); i++)
        {
            string media = MediaWriter.TargetOf(numbered ? PromptFile.Numbered(target.Path, i, requests.Count) : target.Path, target.Format, target.WritesVideo);
            string tensors = Path.GetFullPath(numbered ? PromptFile.Numbered(tensorsPath, i, requests.Count) : tensorsPath);
            if (tensors == media || (audio && target.Format == MediaFormat.Png && tensors == media + ".wav"))
                throw new UsageException($"--save-tensors {tensorsPath} names the file the output is written to ({tensors}); name another file for the tensors");
        }
        foreach (var r in requests) WarnAboutTruncation(model, r, log);
        foreach (var warning in GuidanceWarnings.Of(info, requests[0])) log.WriteLine($"warning: {warning}");

        // Ctrl+C cancels between steps and during an engine's export (outputs are written atomically and a cancelled
        // export removes its temporary folders, so nothing is left half-written)
        bool saving = false;  // a Ctrl+C while an output is written lets it finish whole, then stops (exit 130)
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
            log.WriteLine(Volatile.Read(ref saving) ? "cancelling once the output being written is whole..." : "cancelling...");
        };
        Console.CancelKeyPress += onCancel;
        try
        {
            for (int i = 0; i < requests.Count; i++)
            {
                if (numbered) log.WriteLine($"generation {i + 1}/{requests.Count} (seed {requests[i].Seed}): {PromptFile.Short(requests[i].Prompt)}");
                var progress = new ConsoleProgress(log, environment.LogIsTerminal);
                var result = pipeline.GenerateAsync(requests[i], progress, cancel.Token).GetAwaiter().GetResult();
                progress.Done();
                if (result.StepCache is { } cache)
                    log.WriteLine($"{cache} (computed: {cache.ComputedText})");
                Volatile.Write(ref saving, true);
                var slot = numbered ? (i, requests.Count) : ((int, int)?)null;
                try { Save(result, writer, target, tensorsPath, slot, output); }
                catch (MediaException) when (cancel.IsCancellationRequested)
                {
                    // a terminal's Ctrl+C reaches the whole process group: the ffmpeg encoding the MP4 died of it. The
                    // result is in memory and the write is atomic (nothing half-written was left): write it once more
                    log.WriteLine("the encoder was interrupted too; writing the output again...");
                    Save(result, writer, target, tensorsPath, slot, output);
                }
                Volatile.Write(ref saving, false);
                cancel.Token.ThrowIfCancellationRequested();
            }
        }
        finally { Console.CancelKeyPress -= onCancel; }
        output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
        return ExitCode.Success;
    }

    /// <summary>The request the flags describe (the first prompt of a prompt file; the demo model's small defaults
    /// without --model).</summary>
    static GenerationRequest RequestFromFlags(CommandLine cl, IReadOnlyList<string>? prompts, VisualGen.Configuration.VisualGenConfig settings)
    {
        var request = new GenerationRequest
        {
            Prompt = prompts?[0] ?? cl.String("prompt") ?? (cl.Has("model") ? throw new UsageException("--prompt is required (or --prompt-file FILE)") : "A red fox runs across a snowy field at dawn."),
            NegativePrompt = cl.String("negative-prompt"),
            Height = cl.Int("height"),
            Width = cl.Int("width"),
            NumFrames = cl.Int("frames"),
            NumInferenceSteps = cl.Int("steps"),
            GuidanceScale = cl.Double("guidance-scale"),
            GuidanceScale2 = cl.Double("guidance-scale-2"),
            TrueCfgScale = cl.Double("true-cfg-scale"),
            Shift = cl.Double("shift"),
            Seed = cl.Long("seed"),
            MaxSequenceLength = cl.Int("max-sequence-length"),
            // LTX-2 calls it frame_rate, Cosmos3 fps: one request field, either flag
            Fps = cl.Has("fps") && cl.Has("frame-rate")
                ? throw new UsageException("--fps and --frame-rate are the same setting; give one")
                : cl.Double("fps") ?? cl.Double("frame-rate"),
            StgScale = cl.Double("stg-scale"),
            ModalityScale = cl.Double("modality-scale"),
            GuidanceRescale = cl.Double("guidance-rescale"),
            AudioGuidanceScale = cl.Double("audio-guidance-scale"),
            AudioStgScale = cl.Double("audio-stg-scale"),
            AudioModalityScale = cl.Double("audio-modality-scale"),
            AudioGuidanceRescale = cl.Double("audio-guidance-rescale"),
            SpatioTemporalGuidanceBlocks = IntList(cl, "spatio-temporal-guidance-blocks"),
            UseCrossTimestep = Bool(cl, "use-cross-timestep"),
            MaxArea = cl.Long("max-area"),
            Strength = cl.Double("strength"),
            TeaCache = StepCacheFlags.TeaCache(cl),
            CacheDit = StepCacheFlags.CacheDit(cl),
            VaeTiling = settings.VaeTiling,
        };
        return cl.Has("model") ? request
            : request with { Height = request.Height ?? 32, Width = request.Width ?? 48, NumFrames = request.NumFrames ?? 9, NumInferenceSteps = request.NumInferenceSteps ?? 4, MaxSequenceLength = request.MaxSequenceLength ?? 16 };
    }

    /// <summary>The request with the images and latents the flags name, each refused before it is read where the
    /// pipeline cannot take it.</summary>
    static GenerationRequest WithInputFiles(GenerationRequest request, CommandLine cl, PipelineInfo info)
    {
        var imagePaths = cl.Strings("image");
        if (imagePaths.Count > 0)
        {
            // refused before an image is decoded
            if (!info.AcceptsImage)
                throw new GenerationException("image", $"{info.ClassName} is text-to-{(info.ProducesVideo ? "video" : "image")} and takes no image; remove --image");
            if (imagePaths.Count > info.MaxImages)
                throw new GenerationException("image", $"{info.ClassName} takes one --image, got {imagePaths.Count} (several reference images are FLUX.2's)");
            request = ConditioningImages.With(request, [.. imagePaths.Select(ReadImage)]);
        }
        if (cl.String("last-image") is { } lastPath)
        {
            if (!info.Takes(CallArguments.LastImage))
                throw new GenerationException("last_image", $"{info.ClassName} takes no last_image (a last frame is Wan image-to-video's); remove --last-image");
            request = request with { LastImage = ReadImage(lastPath, "--last-image") };
        }
        if (cl.String("mask-image") is { } maskPath)
        {
            if (!info.Takes(CallArguments.MaskImage))
                throw new GenerationException("mask_image", $"{info.ClassName} takes no mask_image (inpainting: FLUX.1's and Qwen-Image's); remove --mask-image");
            request = request with { MaskImage = ReadImage(maskPath, "--mask-image") };
        }
        if (cl.String("latents") is { } latentsPath)
        {
            var (latents, audioLatents) = ReadLatents(latentsPath);
            request = request with { Latents = latents, AudioLatents = audioLatents };
        }
        return request;
    }

    /// <summary>Writes one result: its tensors (--save-tensors) and its media, numbered (index, count) for several.</summary>
    static void Save(GenerationResult result, MediaWriter writer, OutputTarget target, string? tensorsPath, (int Index, int Count)? numbered, TextWriter output)
    {
        string? tensors = tensorsPath is null || numbered is not { } n ? tensorsPath : PromptFile.Numbered(tensorsPath, n.Index, n.Count);
        if (tensors is not null)
            SafeTensorsWriter.Write(tensors, [result.Latents.ToTensorData("latents"), result.Output.ToTensorData("output"),
                .. result.AudioLatents is { } al ? [al.ToTensorData("audio_latents")] : Array.Empty<TensorData>(),
                .. result.Audio is { } au ? [au.ToTensorData("audio")] : Array.Empty<TensorData>()]);
        // a one-frame video written as an image: [batch, 1, height, width, 3] -> [batch, height, width, 3]
        if (result.IsVideo && !target.WritesVideo && result.Output.Shape[1] == 1)
            result = result with { Output = result.Output.Reshape([result.Output.Shape[0], .. result.Output.Shape[2..]]), IsVideo = false };
        var written = writer.Write(result, numbered is { } m ? PromptFile.Numbered(target.Path, m.Index, m.Count) : target.Path, target.Format);
        foreach (var f in written.Take(3))
            output.WriteLine(Directory.Exists(f) ? $"wrote {f}{Path.DirectorySeparatorChar} ({Frames(Directory.GetFiles(f, "*.png").Length)})" : $"wrote {f}");
        if (written.Count > 3) output.WriteLine($"... {written.Count} files");
    }

    static string Frames(int count) => count == 1 ? "1 PNG frame" : $"{count} PNG frames";

    static void WarnAboutTruncation(string model, GenerationRequest request, TextWriter log)
    {
        // a diffusers folder, or a monolithic file VisualGen reads (LTX-2): both load as a model index
        if (!File.Exists(Path.Combine(model, ModelIndex.FileName)) && !File.Exists(model)) return;
        var index = ModelIndex.Load(model);
        foreach (var (name, text) in new[] { ("prompt", request.Prompt), ("negative prompt", request.NegativePrompt) })
        {
            if (string.IsNullOrEmpty(text)) continue;
            foreach (var cut in PromptTruncation.Check(index, text, request.MaxSequenceLength))
                log.WriteLine($"warning: the {name} is cut to {cut.Limit} tokens ({cut.LimitName}) for {cut.Encoder}: its last " +
                              $"{cut.DroppedTokens} token(s) are dropped, as diffusers drops them; " +
                              (cut.LimitName == "max_sequence_length" ? "raise --max-sequence-length or shorten it" : "shorten it"));
        }
    }

    /// <summary>The 'latents' tensor of a safetensors file, and 'audio_latents' where it has one (audio families); a
    /// value that is not finite is refused here (it ran the whole loop and failed at the output as a diverged generation).</summary>
    static (HostTensor Latents, HostTensor? AudioLatents) ReadLatents(string path)
    {
        // a folder was reported as "file not found"
        if (Directory.Exists(path)) throw new UsageException($"--latents {path}: is a folder; name a safetensors file with a tensor 'latents'");
        using var file = SafeTensorsFile.Open(path);
        if (!file.Contains("latents"))
            throw new UsageException($"--latents {path}: no tensor named 'latents' (found: {string.Join(", ", file.Names)})");
        HostTensor Read(string name)
        {
            var t = HostTensor.FromSource(file, name);
            if (t.DType == TensorDType.F32 && Array.FindIndex(t.Floats, v => !float.IsFinite(v)) is var bad and >= 0)
                throw new UsageException($"--latents {path}: '{name}' holds " +
                    $"{t.Floats[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)} at element {bad}; initial latents must be finite numbers");
            return t;
        }
        return (Read("latents"), file.Contains("audio_latents") ? Read("audio_latents") : null);
    }

    /// <summary>A comma-separated list of integers (diffusers' list arguments).</summary>
    static IReadOnlyList<int>? IntList(CommandLine cl, string name)
    {
        if (cl.String(name) is not { } s) return null;
        var items = s.Split(',', StringSplitOptions.TrimEntries);
        var values = new List<int>();
        foreach (var item in items)
        {
            if (item.Length == 0 && items.Length == 1) break;   // an empty list
            if (!int.TryParse(item, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out int v))
                throw new UsageException($"--{name} must be comma-separated integers (for example 1,2), got '{s}'");
            values.Add(v);
        }
        return values;
    }

    static bool? Bool(CommandLine cl, string name) => cl.String(name) is not { } s ? null
        : s.Trim().ToLowerInvariant() switch
        {
            "true" or "1" or "yes" => true,
            "false" or "0" or "no" => false,
            _ => throw new UsageException($"--{name} must be true or false, got '{s}'"),
        };

    static HostTensor ReadImage(string path) => ReadImage(path, "--image");

    static HostTensor ReadImage(string path, string flag)
    {
        if (Directory.Exists(path)) throw new MediaException($"{flag} {path}: is a folder; name an image file");
        if (!File.Exists(path)) throw new MediaException($"{flag} {path}: file not found");
        var image = ImageReader.Read(path);
        return HostTensor.Float32(image.ToFloat(), image.Height, image.Width, 3);
    }
}
