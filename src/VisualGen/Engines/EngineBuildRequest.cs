namespace VisualGen.Engines;

/// <summary>
/// One component to build: its ONNX graph, what the graph depends on (hashes from the exporter), its
/// inputs and outputs for the manifest, and the build options. With a backend this gives the cache key.
/// </summary>
public sealed record EngineBuildRequest
{
    /// <summary>Component name (for example "transformer"); names the cache folder.</summary>
    public required string Component { get; init; }
    /// <summary>The ONNX graph, when it is already written; otherwise <see cref="WriteGraph"/> writes it on demand.</summary>
    public string? OnnxPath { get; init; }
    /// <summary>Writes the ONNX graph and returns its path; called only when the entry must be built, so a cache
    /// hit never exports. The file belongs to the build: backends may move it into the entry.</summary>
    public Func<string>? WriteGraph { get; init; }

    /// <summary>The graph path, writing the graph first when needed.</summary>
    public string ResolveGraph() => OnnxPath ?? WriteGraph?.Invoke()
        ?? throw new EngineException($"build request for '{Component}' has neither OnnxPath nor WriteGraph");
    /// <summary>SHA-256 (or any stable hash) of the graph bytes.</summary>
    public required string GraphHash { get; init; }
    /// <summary>Fingerprint of the weights (external data or checkpoint files).</summary>
    public required string WeightFingerprint { get; init; }
    public required string ExporterVersion { get; init; }
    public required IReadOnlyList<EngineTensorSpec> Inputs { get; init; }
    public required IReadOnlyList<EngineTensorSpec> Outputs { get; init; }
    public EngineBuildOptions Options { get; init; } = new();

    /// <summary>Everything the engine depends on for <paramref name="backend"/>.</summary>
    public EngineKeyParts KeyParts(IEngineBackend backend) => EngineKeyParts.For(GraphHash, WeightFingerprint, ExporterVersion, Options, backend);
}
