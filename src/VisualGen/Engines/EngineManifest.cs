namespace VisualGen.Engines;

/// <summary>A graph input or output: name, element type ("float32", "int64", ...) and dims (numbers, or names for dynamic axes).</summary>
public sealed record EngineTensorSpec(string Name, string DType, string[] Shape);

/// <summary>What <c>manifest.json</c> of an engine cache entry holds.</summary>
public sealed record EngineManifest
{
    public required string Key { get; init; }
    public required string Component { get; init; }
    public required EngineKeyParts KeyParts { get; init; }
    public required IReadOnlyList<EngineTensorSpec> Inputs { get; init; }
    public required IReadOnlyList<EngineTensorSpec> Outputs { get; init; }
    /// <summary>Files of the entry (relative paths) with their SHA-256, checked on load.</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }
    /// <summary>The file the backend loads.</summary>
    public required string EntryFile { get; init; }
    public DateTimeOffset BuiltAt { get; init; }
    public double BuildSeconds { get; init; }
}

/// <summary>Everything an engine depends on; the cache key is a hash of these.</summary>
public sealed record EngineKeyParts
{
    public required string GraphHash { get; init; }
    public required string WeightFingerprint { get; init; }
    public required string Backend { get; init; }
    public required string BackendVersion { get; init; }
    public required string Device { get; init; }
    public required string Precision { get; init; }
    public required string Profiles { get; init; }
    public required int Opset { get; init; }
    public required string ExporterVersion { get; init; }
    /// <summary><see cref="EngineBuildOptions.Quantization"/> ("" for unquantized graphs and manifests written before it).</summary>
    public string Quantization { get; init; } = "";

    /// <summary>The parts of a graph (its hash and weight fingerprint, from the exporter) built with <paramref name="options"/> for <paramref name="backend"/>.</summary>
    public static EngineKeyParts For(string graphHash, string weightFingerprint, string exporterVersion, EngineBuildOptions options, IEngineBackend backend) => new()
    {
        GraphHash = graphHash,
        WeightFingerprint = weightFingerprint,
        Backend = backend.Name,
        BackendVersion = backend.Version,
        Device = backend.Device,
        Precision = backend.BuiltPrecision(options),
        Profiles = options.ProfileText,
        Opset = options.Opset,
        ExporterVersion = exporterVersion,
        Quantization = options.Quantization,
    };
}
