using VisualGen.Engines;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Export;

namespace VisualGen.Exporter.Commands;

/// <summary>Wiring shared by the CLI, the server and the build command: the engine cache location and backends.</summary>
public static class Runtime
{
    /// <summary>--engine-cache, else $VISUALGEN_CACHE, else ~/.cache/visualgen/engines.</summary>
    public static string CacheDirectory(string? flag) =>
        flag ?? Environment.GetEnvironmentVariable("VISUALGEN_CACHE")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "visualgen", "engines");

    /// <summary>The backend named on the command line ("ort-cpu" default, "ort-cuda").</summary>
    public static IEngineBackend Backend(string? name) => (name ?? "ort-cpu") switch
    {
        "ort-cpu" => new OrtBackend(OrtDevice.Cpu),
        "ort-cuda" => new OrtBackend(OrtDevice.Cuda),
        var other => throw new UsageException($"unknown engine '{other}'; available: ort-cpu, ort-cuda"),
    };

    public static EngineProvider CreateEngineProvider(string? cacheFlag, string? engineFlag, IProgress<string>? log) =>
        new(new EngineCache(CacheDirectory(cacheFlag)), Backend(engineFlag), ComponentExporterRegistry.CreateDefault()) { Log = log };
}
