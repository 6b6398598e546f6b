using System.Globalization;
using VisualGen.Engines;
using VisualGen.Exporter.Commands;

namespace VisualGen.Cli;

/// <summary>
/// <c>cache list</c>: the engine cache's entries, most recently used first, with their size and backend;
/// <c>cache prune --unused-for AGE [--dry-run]</c>: removes the entries no engine was loaded from for AGE, except those
/// a running process has loaded or is building (<see cref="EngineCacheInventory"/>).
/// </summary>
public static class CacheCommand
{
    public static readonly string[] Flags = ["cache", "engine-cache", "config", "unused-for"];
    public static readonly string[] Switches = ["dry-run"];

    public static int Run(string[] args, TextWriter output)
    {
        if (args.Length == 0 || args[0] is not ("list" or "prune"))
            throw new UsageException($"cache takes list or prune{(args.Length > 0 ? $", got '{args[0]}'" : "")} (visualgen cache --help)");
        var cl = new CommandLine(args[1..], Flags, Switches);
        string root = Runtime.CacheDirectory(RunConfiguration.FromFlags(cl).EngineCache);
        EngineCacheLocation.RequireNotFile(root);
        var inventory = new EngineCacheInventory(new EngineCache(root));
        if (args[0] == "list")
        {
            if (cl.Has("unused-for") || cl.Has("dry-run")) throw new UsageException("--unused-for and --dry-run go with cache prune");
            var entries = inventory.List();
            output.WriteLine(Directory.Exists(root)
                ? $"engine cache {root}: {entries.Count} entr{(entries.Count == 1 ? "y" : "ies")}, {Size(entries.Sum(e => e.Bytes))}"
                : $"engine cache {root}: no such folder (0 entries; the first build creates it)");
            if (entries.Count == 0) return ExitCode.Success;
            // the text columns are as wide as their widest value: a quantized precision ("fp32 FP8_BLOCK_SCALES;ignore=") overflowed a fixed width
            var rows = entries.Select(e => (Entry: e, Backend: e.Manifest?.KeyParts.Backend ?? "?", Precision: Precision(e.Manifest?.KeyParts))).ToList();
            int backend = Math.Max(12, rows.Max(r => r.Backend.Length)), precision = Math.Max(14, rows.Max(r => r.Precision.Length)),
                component = Math.Max(22, rows.Max(r => r.Entry.Component.Length));
            output.WriteLine($"  {"last used (UTC)",-17} {"size",10}  {"backend".PadRight(backend)} {"precision".PadRight(precision)} {"component".PadRight(component)} folder");
            foreach (var (e, b, p) in rows)
                output.WriteLine($"  {e.LastUsedUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture),-17} {Size(e.Bytes),10}  " +
                    $"{b.PadRight(backend)} {p.PadRight(precision)} {e.Component.PadRight(component)} {e.Folder}{(e.Problem is { } why ? $"  ({why})" : "")}");
            return ExitCode.Success;
        }

        var age = cl.Duration("unused-for") ?? throw new UsageException("cache prune needs --unused-for AGE (for example 30d): entries no engine was loaded from for that long are removed");
        bool dryRun = cl.Has("dry-run");
        var result = inventory.Prune(age, dryRun);
        string verb = dryRun ? "would remove" : "removed";
        foreach (var e in result.Removed)
            output.WriteLine($"{verb} {e.Folder} ({Size(e.Bytes)}, last used {e.LastUsedUtc.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC)");
        foreach (var e in result.InUse)
            output.WriteLine($"kept {e.Folder}: a running process has it loaded or is building it");
        output.WriteLine($"{verb} {result.Removed.Count} entr{(result.Removed.Count == 1 ? "y" : "ies")} ({Size(result.FreedBytes)}) unused for {cl.String("unused-for")}" +
            (result.InUse.Count > 0 ? $"; kept {result.InUse.Count} in use" : "") +
            (result.LeftoversRemoved > 0 ? $"; {verb} {result.LeftoversRemoved} folder{(result.LeftoversRemoved == 1 ? "" : "s")} left by interrupted builds" : ""));
        if (result.InUseUnchecked)
            output.WriteLine("the cache's locks cannot be taken here (read-only?): whether a running process has these entries loaded was not checked");
        return ExitCode.Success;
    }

    static string Precision(EngineKeyParts? parts) =>
        parts is null ? "" : parts.Quantization.Length > 0 ? $"{parts.Precision} {parts.Quantization}" : parts.Precision;

    static string Size(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):F1} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):F1} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):F1} KiB",
        _ => $"{bytes} B",
    };
}
