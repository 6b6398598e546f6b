using VisualGen.Configuration;
using VisualGen.Exporter.Export;

namespace VisualGen.Exporter.Commands;

/// <summary>
/// A command's run settings: the <c>--config FILE</c> YAML (<see cref="VisualGenConfig"/>) with the command line's
/// --engine, --engine-cache/--cache, --gpu-memory, --attention, --vae-dtype and --vae-tiling over it (a flag wins over the file).
/// </summary>
public static class RunConfiguration
{
    public static readonly string[] Flags = ["config", "engine", "engine-cache", "cache", "attention", "gpu-memory", "vae-dtype", .. QuantizationFlags.Flags];

    /// <summary>Flags of the commands that generate (or print the merged configuration), not of <c>build</c>: how the
    /// decoder is run does not change what is built.</summary>
    public static readonly string[] GenerationFlags = ["vae-tiling"];

    public static VisualGenConfig FromFlags(CommandLine cl)
    {
        VisualGenConfig file;
        string? path = cl.String("config");
        // a missing file is a missing input (exit 1), as --image's; what is in it is a usage matter (exit 2)
        if (path is not null && Directory.Exists(path)) throw new IOException($"--config {path}: is a folder; --config takes a YAML file");
        if (path is not null && !File.Exists(path)) throw new FileNotFoundException($"--config {path}: file not found");
        // flags that change which engine runs, or what needs the native one, are checked with the file merged (below)
        bool flagsDecideEngine = cl.String("engine") is not null || cl.String("attention") is not null || cl.String("vae-dtype") is not null;
        try { file = path is not null ? VisualGenConfig.Load(path, checkEngine: !flagsDecideEngine) : new VisualGenConfig(); }
        catch (ConfigException e) { throw new UsageException($"--config {e.Message}"); }
        string? cache = (cl.String("engine-cache"), cl.String("cache")) switch
        {
            ({ } a, { } b) when a != b => throw new UsageException($"--engine-cache {a} and --cache {b} name two engine caches; give one"),
            var (a, b) => a ?? b,
        };
        var merged = file with
        {
            Engine = Runtime.EngineName(cl.String("engine")) ?? file.Engine,
            EngineCache = cache ?? file.EngineCache,
            GpuMemoryGib = cl.String("gpu-memory") is { } g ? Runtime.GpuMemory(g) / (double)(1L << 30) : file.GpuMemoryGib,
            Attention = cl.String("attention") is { } flag ? Runtime.AttentionSetting(flag) : file.Attention,
            VaeDtype = cl.String("vae-dtype") ?? file.VaeDtype,
            VaeTiling = cl.String("vae-tiling") is { } tiling ? VaeTilingFlag(tiling) : file.VaeTiling,
            Quantization = QuantizationFlags.Parse(cl) ?? file.Quantization,
        };
        Runtime.CheckSettings(merged.Engine, merged.Attention.Flag, GpuMemoryBytes(merged), merged.VaeDtype);
        return merged;
    }

    /// <summary>--vae-tiling on|off (also true/false).</summary>
    public static bool VaeTilingFlag(string value) => value.Trim().ToLowerInvariant() switch
    {
        "on" or "true" => true,
        "off" or "false" => false,
        _ => throw new UsageException($"--vae-tiling must be on or off, got '{value}'"),
    };

    public static long? GpuMemoryBytes(VisualGenConfig c) => c.GpuMemoryGib is double g ? (long)(g * (1L << 30)) : null;

    public static EngineProvider CreateEngineProvider(VisualGenConfig c, IProgress<string>? log, bool embedWeights = false,
        CancellationToken cancellation = default) =>
        Runtime.CreateEngineProvider(c.EngineCache, c.Engine, log, c.Attention.Flag, GpuMemoryBytes(c), c.Quantization, embedWeights, c.VaeDtype,
            cancellation: cancellation);
}
