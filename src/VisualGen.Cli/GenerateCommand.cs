using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Exporter.Commands;
using VisualGen.Media;
using VisualGen.Pipelines;
using VisualGen.Tensors;

namespace VisualGen.Cli;

/// <summary><c>generate</c>: flags named after diffusers' call arguments; writes MP4/PNG and optionally the tensors.</summary>
public static class GenerateCommand
{
    static readonly string[] Flags =
    [
        "model", "prompt", "negative-prompt", "height", "width", "frames", "steps", "guidance-scale", "guidance-scale-2",
        "true-cfg-scale", "shift", "seed", "max-sequence-length", "image", "latents", "save-tensors", "output", "format",
        "engine", "engine-cache", "attention",
    ];

    public static int Run(string[] args, TextWriter output, TextWriter log)
    {
        var cl = new CommandLine(args, Flags);
        string model;
        if (cl.String("model") is { } m) model = Path.GetFullPath(m);
        else
        {
            model = DemoModels.Ensure();
            log.WriteLine($"no --model given: using the built-in tiny demo model at {model}. {DemoModel.Notice}");
        }
        MediaFormat? format = cl.String("format") is { } formatFlag ? MediaFormats.Parse(formatFlag) : FormatFromExtension(cl.String("output"));

        var request = new GenerationRequest
        {
            Prompt = cl.String("prompt") ?? (cl.Has("model") ? throw new UsageException("--prompt is required") : "A red fox runs across a snowy field at dawn."),
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
            Latents = cl.String("latents") is { } lat ? ReadLatents(lat) : null,
            Image = cl.String("image") is { } img ? ReadImage(img) : null,
        };
        if (!cl.Has("model"))
            request = request with { Height = request.Height ?? 32, Width = request.Width ?? 48, NumFrames = request.NumFrames ?? 9, NumInferenceSteps = request.NumInferenceSteps ?? 4, MaxSequenceLength = request.MaxSequenceLength ?? 16 };

        var clock = Stopwatch.StartNew();
        using var engines = Runtime.CreateEngineProvider(cl.String("engine-cache"), cl.String("engine"), new LineProgress(l => log.WriteLine("  " + l)),
            cl.String("attention"));
        using var pipeline = ModelFamilies.CreateRegistry().Create(model, engines);
        // images are PNG; videos MP4 unless --format png (a frame folder) — decided before any work is done
        var chosen = format ?? (pipeline.Info.ProducesVideo ? MediaFormat.Mp4 : MediaFormat.Png);
        if (!pipeline.Info.ProducesVideo && chosen == MediaFormat.Mp4)
            throw new UsageException($"{pipeline.Info.ClassName} makes images, which are written as PNG: use --format png or an --output ending in .png");
        string outputPath = cl.String("output") ?? (chosen == MediaFormat.Mp4 ? "output.mp4" : pipeline.Info.ProducesVideo ? "output" : "output.png");
        pipeline.Validate(request);
        var progress = new ConsoleProgress(log);
        // Ctrl+C cancels between steps (outputs are written atomically, so nothing is left half-written)
        using var cancel = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cancel.Cancel(); log.WriteLine("cancelling..."); };
        Console.CancelKeyPress += onCancel;
        GenerationResult result;
        try { result = pipeline.GenerateAsync(request, progress, cancel.Token).GetAwaiter().GetResult(); }
        finally { Console.CancelKeyPress -= onCancel; }
        progress.Done();

        if (cl.String("save-tensors") is { } tensorsPath)
            SafeTensorsWriter.Write(tensorsPath, [result.Latents.ToTensorData("latents"), result.Output.ToTensorData("output")]);
        var written = MediaWriter.Save(result, outputPath, chosen);
        foreach (var f in written.Take(3)) output.WriteLine($"wrote {f}");
        if (written.Count > 3) output.WriteLine($"... {written.Count} files");
        output.WriteLine($"done in {clock.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    static MediaFormat? FormatFromExtension(string? output) => Path.GetExtension(output ?? "").ToLowerInvariant() switch
    {
        ".mp4" => MediaFormat.Mp4,
        ".png" => MediaFormat.Png,
        _ => null,
    };

    static HostTensor ReadLatents(string path)
    {
        using var file = SafeTensorsFile.Open(path);
        if (!file.Contains("latents"))
            throw new UsageException($"--latents {path}: no tensor named 'latents' (found: {string.Join(", ", file.Names)})");
        return HostTensor.FromSource(file, "latents");
    }

    static HostTensor ReadImage(string path)
    {
        if (!File.Exists(path)) throw new UsageException($"--image {path}: file not found");
        var image = ImageReader.Read(path);
        return HostTensor.Float32(image.ToFloat(), image.Height, image.Width, 3);
    }
}

/// <summary>Progress on stderr: a line per stage and a step counter.</summary>
sealed class ConsoleProgress(TextWriter log) : IProgress<GenerationProgress>
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    string _stage = "";

    public void Report(GenerationProgress p)
    {
        lock (this)
        {
            if (p.Stage != _stage) { _stage = p.Stage; log.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1}s] {p.Stage}"); }
            if (p.Stage == "denoise" && p.Step > 0) log.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1}s]   step {p.Step}/{p.TotalSteps}");
        }
    }

    public void Done() => log.WriteLine($"[{_clock.Elapsed.TotalSeconds,6:F1}s] finished");
}
