using VisualGen.Engines;
using VisualGen.Engines.Cuda;
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

    public const string Engines = "ort-cpu, ort-cuda, native-cuda";

    /// <summary>The backend named on the command line ("ort-cpu" default, "ort-cuda"); "native-cuda" runs on ONNX
    /// Runtime CPU except for the components <see cref="NativeComponents"/> lists.</summary>
    public static IEngineBackend Backend(string? name) => (name ?? "ort-cpu") switch
    {
        "ort-cpu" or "native-cuda" => new OrtBackend(OrtDevice.Cpu),
        "ort-cuda" => new OrtBackend(OrtDevice.Cuda),
        var other => throw new UsageException($"unknown engine '{other}'; available: {Engines}"),
    };

    /// <summary>The component folders the native CUDA engine runs: the diffusion transformers (its fused kernels
    /// cover DiT graphs; the VAEs' 3-D convolutions and the text encoders run on ONNX Runtime).</summary>
    public static readonly string[] NativeComponents = ["transformer", "transformer_2"];

    public static EngineProvider CreateEngineProvider(string? cacheFlag, string? engineFlag, IProgress<string>? log)
    {
        var overrides = new Dictionary<string, IEngineBackend>();
        if (engineFlag == "native-cuda")
        {
            var cuda = new CudaBackend();
            foreach (var c in NativeComponents) overrides[c] = cuda;
        }
        return new(new EngineCache(CacheDirectory(cacheFlag)), Backend(engineFlag), ComponentExporterRegistry.CreateDefault())
        {
            Log = log,
            ComponentBackends = overrides,
        };
    }
}
