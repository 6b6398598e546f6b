using VisualGen.Checkpoints;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Quantization;
using VisualGen.Quantization;

namespace VisualGen.Exporter.Commands;

/// <summary>
/// <c>quantize --model DIR --scheme fp8|fp8_block|nvfp4 --output DIR2 [--ignore P,Q]</c>: writes a ModelOpt-style
/// quantized copy of a diffusers checkpoint. The diffusion transformers' linears (found by tracing each one, so
/// exactly the linears its graph has) are quantized with the scheme's exact quantizer; the rest of every folder is
/// copied. Linears whose shape the algorithm's blocks do not divide stay unquantized, are named in the log and join
/// the written config's <c>ignore</c>. The copy is made beside DIR2 and renamed into place; a cancelled or failed run
/// deletes it.
/// </summary>
public static class QuantizeModelCommand
{
    public static int Run(CommandLine cl, TextWriter output, TextWriter log, CancellationToken cancellation = default)
    {
        string model = Path.GetFullPath(cl.Required("model"));
        string scheme = cl.Required("scheme");
        // "out/" names the folder "out": with the separator kept, the staging folder beside it ("out/.tmp-PID") was inside it
        string target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(cl.Required("output")));
        if (cl.Has("tensors")) throw new UsageException("give --model (a checkpoint folder) or --tensors (a safetensors file), not both");
        QuantAlgo algo;
        try { algo = QuantAlgo.Parse(scheme, "--scheme"); }
        catch (QuantizationException)
        {
            throw new UsageException($"--scheme '{scheme}' does not quantize a checkpoint's weights; --model takes {string.Join(", ", QuantAlgo.All.Select(a => a.Scheme))} (or quant_algo {string.Join(", ", QuantAlgo.All.Select(a => a.Name))})");
        }
        var ignore = cl.String("ignore")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        var config = new QuantizationConfig(algo, ignore);
        if (Directory.Exists(target) || File.Exists(target))
            throw new UsageException($"--output {target} exists; quantize writes a new folder");
        // with the name's length: a name the file system refuses was found only when the finished copy was moved there
        if (VisualGen.Media.WritableLocation.Problem(Path.GetDirectoryName(target)!, Path.GetFileName(target)) is { } problem)
            throw new VisualGen.Media.MediaException($"--output {target}: cannot write: {problem}");

        var index = ModelIndex.Load(model);
        string root = Path.GetDirectoryName(index.FilePath)!;
        // the copy is made beside the target: inside the model it would copy itself, level after level
        if (target.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new UsageException($"--output {target} lies inside --model {root}; quantize writes a new folder outside the checkpoint");
        var registry = ComponentExporterRegistry.CreateDefault();
        var components = index.Components.Values
            .Where(c => c.IsPresent && registry.TryGet(c.ClassName!, out var e) && e.Quantizable).Select(c => c.Name).ToList();
        if (components.Count == 0)
            throw new CheckpointException(index.FilePath, "has no component VisualGen quantizes (the diffusion transformers: WanTransformer3DModel, FluxTransformer2DModel, QwenImageTransformer2DModel)");
        foreach (var c in components)
            if (QuantizationConfig.FromComponentConfig(Path.Combine(index.ComponentDirectory(c), "config.json")) is { } existing)
                throw new QuantizationRequestException($"{index.ComponentDirectory(c)}: component '{c}' is already quantized ({existing.Algo.Name}); quantize takes unquantized checkpoints");

        var progress = new LineProgress(line => log.WriteLine("  " + line));
        // which linears the scheme takes, before anything is written: a scheme that takes none of a component's is refused
        // a pattern that matches no module ignores nothing: a typo quantized every linear without a word
        var names = new List<string>();
        foreach (var c in components)
            using (var weights = ComponentWeights.Open(index.ComponentDirectory(c))) names.AddRange(weights.Names);
        if (config.Unmatched(names) is { Count: > 0 } unmatched)
            throw new UsageException($"--ignore {string.Join(", ", unmatched.Select(p => $"'{p}'"))}: matches no module of " +
                $"{string.Join(", ", components.Select(c => $"'{c}'"))} ({QuantizationConfig.PatternSyntax}); nothing was written");
        var surveys = components.ToDictionary(c => c, c => Survey(index, c, index.ComponentDirectory(c), registry, config, progress));
        foreach (var (c, survey) in surveys)
            if (survey.Quantized.Count == 0)
                throw new QuantizationException($"{index.ComponentDirectory(c)}: {algo.Name} quantizes none of component '{c}''s linears " +
                    (survey.LeftOut.Count > 0 ? $"({survey.LeftOut.Count} left unquantized, each named above with the reason)" : "(--ignore matches them all)") +
                    "; nothing was written");
        // a hidden folder beside the target whose name is short whatever the target's (OUT.tmp-PID, 12 bytes longer than
        // a name of up to 255, failed with .NET's "path too long" after the copy had started)
        string staging = VisualGen.Media.WritableLocation.TempBeside(target);
        try
        {
            var folders = components.Select(c => Path.GetFullPath(index.ComponentDirectory(c))).ToHashSet(StringComparer.Ordinal);
            Copy(root, staging, folders, root, progress, cancellation);
            foreach (var c in components)
            {
                string dir = index.ComponentDirectory(c);
                var linears = surveys[c];
                CheckpointQuantizer.QuantizeComponent(dir, Path.Combine(staging, Path.GetRelativePath(root, dir)), config, linears.Quantized, linears.LeftOut, progress, cancellation);
                output.WriteLine($"{c}: {linears.Quantized.Count} linear(s) quantized ({algo.Name}), {linears.LeftOut.Count} left unquantized");
            }
            Directory.Move(staging, target);
        }
        finally
        {
            if (Directory.Exists(staging)) Directory.Delete(staging, recursive: true);
        }
        output.WriteLine($"wrote {target}");
        return 0;
    }

    /// <summary>Traces the component with a survey that records which linears the config quantizes.</summary>
    static QuantizedLinears Survey(ModelIndex index, string component, string dir, ComponentExporterRegistry registry,
        QuantizationConfig config, IProgress<string> log)
    {
        var exporter = registry.Get(index, component);
        var survey = new QuantizedLinears(config, fromCheckpoint: false, log) { SurveyOnly = true };
        using var weights = ComponentWeights.Open(dir);
        foreach (var part in exporter.Parts) exporter.Trace(new TraceContext(index, component, dir, weights, part, survey));
        return survey;
    }

    /// <summary>Copies the checkpoint; in the folders to quantize only what is not weights or config.json.</summary>
    /// <summary>Copies the checkpoint except the quantized components' weights and configs; a file of 64 MB or more is
    /// named as it is copied (a text encoder's shards take a while).</summary>
    static void Copy(string source, string target, IReadOnlySet<string> quantized, string root, IProgress<string> progress,
        CancellationToken cancellation)
    {
        Directory.CreateDirectory(target);
        bool isQuantized = quantized.Contains(Path.GetFullPath(source));
        foreach (var file in Directory.EnumerateFiles(source))
        {
            cancellation.ThrowIfCancellationRequested();
            string name = Path.GetFileName(file);
            if (isQuantized && (name == "config.json" || name.EndsWith(".safetensors", StringComparison.Ordinal)
                || name.EndsWith(".safetensors.index.json", StringComparison.Ordinal))) continue;
            long bytes = VisualGen.Engines.FileState.Target(file).Length;
            if (bytes >= 64L << 20) progress.Report($"copying {Path.GetRelativePath(root, file)} ({bytes / 1e9:F2} GB)");
            File.Copy(file, Path.Combine(target, name));
        }
        foreach (var dir in Directory.EnumerateDirectories(source))
            Copy(dir, Path.Combine(target, Path.GetFileName(dir)), quantized, root, progress, cancellation);
    }
}
