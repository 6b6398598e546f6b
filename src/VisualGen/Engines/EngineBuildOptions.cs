namespace VisualGen.Engines;

/// <summary>What an engine is compiled for beyond the graph itself. Every field is part of the cache key.</summary>
public sealed record EngineBuildOptions
{
    /// <summary>"fp32", "bf16", "fp16", "fp8", "fp8-block", "nvfp4".</summary>
    public string Precision { get; init; } = "fp32";

    /// <summary>Shape profiles: input name → min/opt/max dims. Empty: fully dynamic.</summary>
    public IReadOnlyDictionary<string, ShapeProfile> Profiles { get; init; } = new Dictionary<string, ShapeProfile>();

    public int Opset { get; init; } = 23;

    /// <summary>How the graph's linears are quantized (<c>QuantizationConfig.KeyText</c>: algorithm and ignore
    /// patterns); "" when they are not. A quantized and an unquantized build never share a cache entry.</summary>
    public string Quantization { get; init; } = "";

    /// <summary>Copy every weight into the entry (for caches deployed without the checkpoint). Off: a backend that can
    /// (native-cuda) references the fingerprinted checkpoint's tensors where they are stored as the engine uses them, so
    /// the entry holds only what it converted or re-laid out. Backends whose entries always hold the weights ignore it;
    /// those that reference say so in <see cref="IEngineBackend.BuiltPrecision"/>, which is part of the key.</summary>
    public bool EmbedWeights { get; init; }

    public string ProfileText => string.Join(";", Profiles.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
}

public sealed record ShapeProfile(long[] Min, long[] Opt, long[] Max)
{
    public override string ToString() => $"{string.Join("x", Min)}/{string.Join("x", Opt)}/{string.Join("x", Max)}";
}
