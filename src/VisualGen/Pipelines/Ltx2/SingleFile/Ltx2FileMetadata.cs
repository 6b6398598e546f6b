using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Pipelines.Ltx2.SingleFile;

/// <summary>
/// The <c>__metadata__</c> of a monolithic LTX-2 file as Lightricks' ltx_core reads it
/// (<c>SafetensorsModelStateDictLoader.metadata</c>): <c>config</c> is a JSON string with one section per model —
/// <c>transformer</c> (which also holds the text connectors' settings), <c>vae</c>, <c>audio_vae</c>, <c>vocoder</c> —
/// and <c>model_version</c>, where present, names the release. Only the header is read.
/// </summary>
public sealed class Ltx2FileMetadata
{
    static readonly string[] Sections = ["transformer", "vae", "audio_vae", "vocoder"];

    public string FilePath { get; }
    public JsonElement Transformer { get; }
    public JsonElement Vae { get; }
    public JsonElement AudioVae { get; }
    public JsonElement Vocoder { get; }

    /// <summary><c>model_version</c> ("2.0.0"...), or null where the file has none.</summary>
    public string? ModelVersion { get; }

    /// <summary>The raw <c>config</c> string (what the engine keys of the file's components are made from).</summary>
    public string ConfigText { get; }

    Ltx2FileMetadata(string path, JsonElement config, string configText, string? version)
    {
        FilePath = path; ConfigText = configText; ModelVersion = version;
        Transformer = config.GetProperty("transformer"); Vae = config.GetProperty("vae");
        AudioVae = config.GetProperty("audio_vae"); Vocoder = config.GetProperty("vocoder");
    }

    /// <summary>True when the metadata is an LTX-2 audio-video model's: a <c>config</c> JSON object with the
    /// transformer, vae, audio_vae and vocoder sections ltx_core builds the model from.</summary>
    public static bool Describes(IReadOnlyDictionary<string, string> metadata) => TryParse(metadata) is not null;

    static JsonElement? TryParse(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("config", out var text)) return null;
        try
        {
            using var doc = JsonDocument.Parse(text);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) return null;
            return Sections.All(s => root.TryGetProperty(s, out var v) && v.ValueKind == JsonValueKind.Object) ? root.Clone() : null;
        }
        catch (JsonException) { return null; }
    }

    /// <summary>Reads the metadata of <paramref name="path"/>; an error says what the file's metadata holds instead.</summary>
    public static Ltx2FileMetadata Read(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (TryParse(metadata) is not JsonElement config)
            throw new CheckpointException(path, $"not an LTX-2 file: its metadata has no 'config' JSON with the sections {string.Join(", ", Sections)} ({Found(metadata)})");
        return new Ltx2FileMetadata(path, config, metadata["config"], metadata.GetValueOrDefault("model_version"));
    }

    /// <summary>What a file's metadata holds, for errors.</summary>
    public static string Found(IReadOnlyDictionary<string, string> metadata)
    {
        if (metadata.Count == 0) return "the file has no metadata";
        string keys = $"metadata keys: {string.Join(", ", metadata.Keys.Order(StringComparer.Ordinal))}";
        if (!metadata.TryGetValue("config", out var text)) return keys;
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                ? $"{keys}; config sections: {string.Join(", ", doc.RootElement.EnumerateObject().Select(p => p.Name))}"
                : $"{keys}; config is a JSON {doc.RootElement.ValueKind}, not an object";
        }
        catch (JsonException) { return $"{keys}; config is not JSON"; }
    }
}
