namespace VisualGen.Engines;

/// <summary>One execution backend (ONNX Runtime CPU/CUDA, native CUDA, TensorRT): builds engines from ONNX graphs and loads them.</summary>
public interface IEngineBackend
{
    /// <summary>Short name used in cache keys and on the command line (for example "ort-cpu").</summary>
    string Name { get; }

    /// <summary>Backend version, part of every cache key.</summary>
    string Version { get; }

    /// <summary>The device this backend builds for (for example "cpu" or "sm90/driver 580.159"), part of every cache key.</summary>
    string Device { get; }

    /// <summary>Compiles the graph at <paramref name="onnxPath"/> into files under <paramref name="entryDirectory"/>.
    /// Returns the file names it wrote (relative to the entry directory); the first is the one <see cref="Load"/> opens.</summary>
    IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options);

    /// <summary><see cref="Build"/> of a graph written for this build alone (<see cref="EngineBuildRequest.WriteGraph"/>,
    /// deleted after it): the backend may take the graph's files into the entry (move, not copy). Default: <see cref="Build"/>.</summary>
    IReadOnlyList<string> BuildTakingGraph(string onnxPath, string entryDirectory, EngineBuildOptions options) =>
        Build(onnxPath, entryDirectory, options);

    /// <summary>The precision of what <see cref="Build"/> writes for these options, as the cache key records it (a backend
    /// that packs weights to bf16 says so, whatever precision the exported graph has). Default: the options' precision.</summary>
    string BuiltPrecision(EngineBuildOptions options) => options.Precision;

    /// <summary>Whether <see cref="Build"/> reads graphs whose checkpoint weights are external data pointing into the
    /// checkpoint's safetensors files (outside the graph's folder, which ONNX Runtime refuses): the exporter then writes no
    /// weight bytes for them. Default: false (the graph carries a copy of every weight).</summary>
    bool ReadsCheckpointReferences => false;

    /// <summary>What makes an intact entry of this backend unusable, beyond its own files (which the cache verifies): for
    /// an entry that references checkpoint files, one that is missing or changed since the build. Null: usable. The cache
    /// rebuilds such an entry as it does a corrupt one. Default: null.</summary>
    string? EntryProblem(string entryDirectory) => null;

    /// <summary>Why this backend cannot build or run engines on this machine (its native library or execution provider
    /// missing), or null. Cheap enough to ask before any work, so that a command refuses before it traces or hashes
    /// anything. Default: null.</summary>
    string? Unavailable => null;

    /// <summary>Loads an engine from a complete cache entry.</summary>
    IEngine Load(string entryDirectory, EngineManifest manifest);
}
