using System.Diagnostics;
using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Commands;

/// <summary><c>build --model DIR [--components a,b] [--cache DIR] [--engine ort-cpu] [--verify full|changed] [--embed-weights]</c>: exports
/// and builds every component into the engine cache, one summary line each (graph size, time, hit or built).
/// <c>--verify full</c> hashes every file of every cached entry (default <c>changed</c>: files whose size or write time
/// changed since they were last verified). <c>--embed-weights</c> copies every weight into the entries (native-cuda
/// otherwise references the checkpoint's tensors), for caches deployed without the checkpoint.</summary>
public static class BuildCommand
{
    public static readonly string[] Flags = ["model", "components", "verify", .. RunConfiguration.Flags];
    public static readonly string[] Switches = ["embed-weights"];

    public static int Run(string[] args, TextWriter output, TextWriter log)
    {
        var cl = new CommandLine(args, Flags, Switches);
        string model = Path.GetFullPath(cl.Required("model"));
        bool verifyAll = cl.String("verify") switch
        {
            null or "changed" => false,
            "full" => true,
            var other => throw new UsageException($"--verify must be 'full' or 'changed', got '{other}'"),
        };
        using var provider = RunConfiguration.CreateEngineProvider(RunConfiguration.FromFlags(cl), new LineProgress(line => log.WriteLine("  " + line)),
            embedWeights: cl.Has("embed-weights"));
        provider.Cache.VerifyAllFiles = verifyAll;
        var all = provider.ComponentsOf(model);
        var selected = cl.String("components") is { } list
            ? list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList()
            : all.ToList();
        foreach (var c in selected)
            if (!all.Contains(c))
                throw new UsageException($"--components: '{c}' is not a component of {model} (exportable: {string.Join(", ", all)})");
        output.WriteLine($"model {model} -> cache {provider.Cache.Root} ({provider.Backend.Name}, {provider.Backend.Device})");
        var clock = Stopwatch.StartNew();
        int i = 0;
        foreach (var c in selected)
        {
            log.WriteLine($"[{++i}/{selected.Count}] {c}");
            var (engine, report) = provider.Prepare(model, c, new LineProgress(line => log.WriteLine("  " + line)));
            output.WriteLine($"{c,-16} {report.Nodes,6} nodes {report.GraphBytes / 1e6,10:F2} MB {report.Seconds,8:F2} s  {(report.Hit ? "hit" : "built")}");
        }
        output.WriteLine($"{selected.Count} component(s) in {clock.Elapsed.TotalSeconds:F2} s");
        return 0;
    }
}
