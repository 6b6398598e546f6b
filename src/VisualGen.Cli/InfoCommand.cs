using VisualGen.Checkpoints;
using VisualGen.Exporter.Commands;
using VisualGen.Exporter.Export;
using VisualGen.Engines;
using VisualGen.Pipelines;

namespace VisualGen.Cli;

/// <summary><c>info --model DIR [--config FILE] [flags]</c>: what was detected — pipeline class, family, components and
/// which ones export — and the run configuration that --config and the engine flags give together.</summary>
public static class InfoCommand
{
    public static readonly string[] Flags = ["model", .. RunConfiguration.Flags, .. RunConfiguration.GenerationFlags];

    public static int Run(string[] args, TextWriter output)
    {
        var cl = new CommandLine(args, Flags);
        var settings = RunConfiguration.FromFlags(cl);
        string model = Path.GetFullPath(cl.Required("model"));
        var detected = ModelFamilies.CreateRegistry().Detect(model);
        var index = detected.RequireIndex();
        var exporters = ComponentExporterRegistry.CreateDefault();
        output.WriteLine($"model      {model}");
        output.WriteLine($"pipeline   {detected.ClassName} (family {detected.Family})");
        // the pipeline reads configs and tokenizers only: no engine is asked for
        using (var pipeline = ModelFamilies.CreateRegistry().Create(model, new NoEngines()))
        {
            output.WriteLine($"makes      {Makes(pipeline.Info)}");
            output.WriteLine($"takes      {Takes(pipeline.Info)}");
        }
        foreach (var c in index.Components.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
        {
            if (!c.IsPresent) { output.WriteLine($"  {c.Name,-16} (absent)"); continue; }
            string how = exporters.TryGet(c.ClassName!, out var e)
                ? "exports " + string.Join(", ", e.Parts.Select(p => p.Length == 0 ? c.Name : $"{c.Name}.{p}"))
                : "runtime (not a graph)";
            output.WriteLine($"  {c.Name,-16} {$"{c.Library}/{c.ClassName}",-62} {how}");
        }
        output.WriteLine("configuration (--config with the flags over it):");
        foreach (var line in settings.ToYaml().TrimEnd().Split('\n')) output.WriteLine("  " + line);
        return 0;
    }

    /// <summary>What a pipeline makes from what: "video from a prompt and an image (--image, required)".</summary>
    static string Makes(PipelineInfo info)
    {
        // Cosmos3's text-to-image checkpoints are its video pipeline run at one frame
        string what = info.ProducesVideo ? info.ImageOnlyForVideo ? "video (or an image: --frames 1)" : "video" : "images";
        if (!info.AcceptsImage) return $"{what} from a prompt";
        if (info.ImageOnlyForVideo && !info.RequiresImage) return $"{what} from a prompt, a video optionally from an image too (--image)";
        // a model that needs an image and takes a mask (FLUX.1 Fill) needs the mask too
        if (info.RequiresImage && info.Takes(CallArguments.MaskImage))
            return $"{what} from a prompt, an image and a mask of where to fill it (--image and --mask-image, required)";
        if (info.RequiresImage) return $"{what} from a prompt and an image (--image, required)";
        return info.MaxImages > 1
            ? $"{what} from a prompt, optionally with reference images (--image, once or several times)"
            : $"{what} from a prompt, optionally with an image (--image)";
    }

    /// <summary>The call arguments the pipeline takes beyond those every pipeline takes, as generate's flags; the others
    /// are refused by name.</summary>
    static string Takes(PipelineInfo info) =>
        info.Arguments.Count == 0 && !info.TakesShift ? "no arguments beyond the prompt, size, steps, seed and step caches"
            : string.Join(" ", info.Arguments.Select(Flag).Concat(info.TakesShift ? ["--shift"] : []));

    /// <summary>generate's flag for a call argument: diffusers' name in kebab case, num_frames as --frames, audio_latents in --latents' file.</summary>
    public static string Flag(CallArgument a) =>
        a == CallArguments.NumFrames ? "--frames" : a == CallArguments.AudioLatents ? "--latents (audio_latents)" : "--" + a.Name.Replace('_', '-');

    /// <summary>An engine provider for reading a pipeline's description: asking it for an engine is a bug.</summary>
    sealed class NoEngines : IEngineProvider
    {
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress) =>
            throw new InvalidOperationException($"info builds no engine (asked for {component})");
    }
}
