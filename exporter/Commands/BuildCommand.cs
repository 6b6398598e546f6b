using System.Diagnostics;
using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Commands;

/// <summary><c>build --model DIR [--components a,b] [--cache DIR] [--engine ort-cpu] [--verify full|changed] [--embed-weights]</c>: exports
/// and builds every component into the engine cache, one summary line each (graph size, time, hit or built).
/// <c>--verify full</c> hashes every file of every cached entry (default <c>changed</c>: files whose size or write time
/// changed since they were last verified). <c>--embed-weights</c> copies every weight into the entries (native-cuda
/// otherwise references the checkpoint's tensors), for caches deployed without the checkpoint; on another engine, whose
/// entries always hold the weights, it is a usage error.</summary>
public static class BuildCommand
{
    public static readonly string[] Flags = ["model", "components", "verify", .. RunConfiguration.Flags];
    public static readonly string[] Switches = ["embed-weights"];

    /// <summary>The flags, as both entry points print them.</summary>
    public const string Usage = """
          build     --model DIR [--components a,b] [--cache DIR | --engine-cache DIR] [--engine ort-cpu|ort-cuda|native-cuda]
                    [--verify full|changed] [--attention bf16|fp8|sage|sage:QxK] [--vae-dtype fp32|bf16] [--gpu-memory GiB] [--config FILE.yaml]
                    [--quant-algo FP8|FP8_BLOCK_SCALES|NVFP4 [--quant-ignore PATTERN,...]] [--embed-weights]
                    Exports and builds every component (or those listed) into the engine cache. native-cuda entries
                    reference the checkpoint's weights where it stores them as the engine uses them (a load whose
                    checkpoint file changed fails, naming it); --embed-weights copies them into the entries, for
                    caches deployed without the checkpoint (native-cuda only: ONNX Runtime's entries always hold them).
        """;

    /// <summary>Runs the command with Ctrl+C as a cancellation (<see cref="ConsoleCancellation"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter log) =>
        ConsoleCancellation.Run(log, cancellation => Run(args, output, log, cancellation));

    /// <summary>Cancelled, it stops between components and inside a component's export; the components built before
    /// stay in the cache, the one being exported leaves nothing there (exit 130).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter log, CancellationToken cancellation)
    {
        var cl = new CommandLine(args, Flags, Switches);
        string model = Path.GetFullPath(cl.Required("model"));
        bool verifyAll = cl.String("verify") switch
        {
            null or "changed" => false,
            "full" => true,
            var other => throw new UsageException($"--verify must be 'full' or 'changed', got '{other}'"),
        };
        var settings = RunConfiguration.FromFlags(cl);
        bool embedWeights = cl.Has("embed-weights");
        Runtime.EmbedWeights(embedWeights, settings.Engine);  // with the --config file's engine merged, before the cache is made
        EngineCacheLocation.Require(Runtime.CacheDirectory(settings.EngineCache), log);  // before any component is traced
        using var provider = RunConfiguration.CreateEngineProvider(settings, new LineProgress(line => log.WriteLine("  " + line)),
            embedWeights: embedWeights);
        provider.Cache.VerifyAllFiles = verifyAll;
        var all = provider.ComponentsOf(model);
        provider.CheckReady(model);
        var selected = cl.String("components") is { } list
            // a component named twice is built once (it was processed and counted twice)
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct(StringComparer.Ordinal).ToList()
            : all.ToList();
        if (selected.Count == 0)
            throw new UsageException($"--components names no component (exportable: {string.Join(", ", all)})");
        foreach (var c in selected)
            if (!all.Contains(c))
                throw new UsageException($"--components: '{c}' is not a component of {model} (exportable: {string.Join(", ", all)})");
        output.WriteLine($"model {model} -> cache {provider.Cache.Root} ({provider.Backend.Name}, {provider.Backend.Device})");
        var clock = Stopwatch.StartNew();
        int i = 0;
        foreach (var c in selected)
        {
            cancellation.ThrowIfCancellationRequested();
            log.WriteLine($"[{++i}/{selected.Count}] {c}");
            var (engine, report) = provider.Prepare(model, c, new LineProgress(line => log.WriteLine("  " + line)), cancellation);
            output.WriteLine($"{c,-16} {report.Nodes,6} nodes {report.GraphBytes / 1e6,10:F2} MB {report.Seconds,8:F2} s  {(report.Hit ? "hit" : "built")}");
        }
        output.WriteLine($"{selected.Count} component(s) in {clock.Elapsed.TotalSeconds:F2} s");
        return 0;
    }
}
