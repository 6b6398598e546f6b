using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Engines;

namespace VisualGen.Exporter.Export;

/// <summary>
/// Everything a component's engine cache key is computed from, read without tracing: the component and its folder,
/// every file of the folder by size and write time, config.json and model_index.json by content, the weight
/// fingerprint, the exporter (its version and the build of the code that traces: the assemblies' module version ids,
/// which change with any code change of a deterministic build), the backend and its version, the device and the
/// build options. Equal source keys trace to the same graph, so <see cref="EngineKeyIndex"/> can map a source key
/// to the cache key it traced to.
/// </summary>
public sealed record EngineSourceKey
{
    const string Schema = "visualgen-source-key/1";

    public required string Component { get; init; }
    public required string ComponentDirectory { get; init; }
    /// <summary>"name size ticks" per file of the component folder, in ordinal order.</summary>
    public required string FileStates { get; init; }
    public required string ConfigSha256 { get; init; }
    public required string ModelIndexSha256 { get; init; }
    public required string WeightFingerprint { get; init; }
    public required string ExporterVersion { get; init; }
    public required string ExporterCode { get; init; }
    public required EngineKeyParts Target { get; init; }
    /// <summary>Whether every file's last write is settled (<see cref="FileState.IsSettled"/>); a source key of
    /// files written moments ago is not recorded, since a second write could keep the same time.</summary>
    public required bool Settled { get; init; }

    /// <summary>The source key of one component part, for <paramref name="backend"/> and <paramref name="options"/>.</summary>
    public static EngineSourceKey Of(ModelIndex model, string component, string componentDir, ComponentExporter exporter,
        string weightFingerprint, string exporterVersion, IEngineBackend backend, EngineBuildOptions options)
    {
        var dir = new DirectoryInfo(componentDir);
        string resolved = (dir.LinkTarget is not null ? dir.ResolveLinkTarget(returnFinalTarget: true)?.FullName : null) ?? dir.FullName;
        string config = Path.Combine(componentDir, "config.json");
        return Of(model, component, resolved, Directory.EnumerateFiles(componentDir), File.Exists(config) ? FileDigest.Of(config) : "",
            exporter, weightFingerprint, exporterVersion, backend, options);
    }

    /// <summary>The source key of a component inside a monolithic file: the file by size and write time, the
    /// component's config (mapped from the file's metadata) by content.</summary>
    public static EngineSourceKey OfFileComponent(ModelIndex model, string component, string file, string configJson, ComponentExporter exporter,
        string weightFingerprint, string exporterVersion, IEngineBackend backend, EngineBuildOptions options) =>
        Of(model, component, Path.GetFullPath(file), [file], Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(configJson))),
            exporter, weightFingerprint, exporterVersion, backend, options);

    static EngineSourceKey Of(ModelIndex model, string component, string resolved, IEnumerable<string> files, string configSha256, ComponentExporter exporter,
        string weightFingerprint, string exporterVersion, IEngineBackend backend, EngineBuildOptions options)
    {
        var now = DateTime.UtcNow;
        bool settled = true;
        var states = new StringBuilder();
        foreach (var path in files.Order(StringComparer.Ordinal))
        {
            var state = FileState.Of(path);
            settled &= state.IsSettled(now);
            states.Append(Path.GetFileName(path)).Append(' ').Append(state.Size.ToString(CultureInfo.InvariantCulture))
                .Append(' ').Append(state.LastWriteTicks.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }
        return new EngineSourceKey
        {
            Component = component,
            ComponentDirectory = resolved,
            FileStates = states.ToString(),
            ConfigSha256 = configSha256,
            ModelIndexSha256 = model.DescriptionSha256,
            WeightFingerprint = weightFingerprint,
            ExporterVersion = exporterVersion,
            ExporterCode = CodeIdentity(exporter),
            // the graph hash is what the source key stands for; the rest of the target is known before tracing
            Target = EngineKeyParts.For("", weightFingerprint, exporterVersion, options, backend),
            Settled = settled,
        };
    }

    /// <summary>The builds of the code a trace runs: the exporter's trace function, the exporter and the library.</summary>
    static string CodeIdentity(ComponentExporter exporter) => string.Join(",",
        new[] { exporter.Trace.Method.Module, typeof(EngineSourceKey).Module, typeof(ModelIndex).Module }
            .Select(m => $"{m.Assembly.GetName().Name}:{m.ModuleVersionId:N}"));

    /// <summary>SHA-256 (hex) of every field but <see cref="Settled"/>, one "name=json-string" line each.</summary>
    public string Hash()
    {
        var fields = new (string Name, string Value)[]
        {
            ("component", Component), ("component_dir", ComponentDirectory), ("files", FileStates), ("config", ConfigSha256),
            ("model_index", ModelIndexSha256), ("weights", WeightFingerprint), ("exporter_version", ExporterVersion),
            ("exporter_code", ExporterCode), ("backend", Target.Backend), ("backend_version", Target.BackendVersion),
            ("device", Target.Device), ("precision", Target.Precision), ("profiles", Target.Profiles),
            ("opset", Target.Opset.ToString(CultureInfo.InvariantCulture)),
        };
        if (Target.Quantization.Length > 0) fields = [.. fields, ("quantization", Target.Quantization)];
        var sb = new StringBuilder(Schema).Append('\n');
        foreach (var (name, value) in fields) sb.Append(name).Append('=').Append(JsonSerializer.Serialize(value)).Append('\n');
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
    }
}
