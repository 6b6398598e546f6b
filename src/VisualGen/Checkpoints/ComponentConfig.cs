using System.Text.Json;
using System.Text.Json.Nodes;

namespace VisualGen.Checkpoints;

/// <summary>
/// A diffusers config file (a component's <c>config.json</c> or <c>scheduler_config.json</c>, model_index.json,
/// preprocessor_config.json) or a nested object of one, read the way diffusers' <c>from_config</c> reads it:
/// an absent key takes the default the caller gives; a key present with null is None (null for nullable reads, an
/// error otherwise). Every problem is a <see cref="CheckpointException"/> naming the file and the key: a missing
/// key, a value of the wrong kind (expected and found), a value VisualGen does not support.
/// Typed getters are in ComponentConfig.Getters.cs; the mapping onto records in ComponentConfig.Records.cs.
/// </summary>
public sealed partial class ComponentConfig
{
    static readonly string[] FileNames = ["config.json", "scheduler_config.json"];

    readonly JsonElement _root;
    readonly string _prefix;

    /// <summary>The JSON file this object came from (or what a config built in memory is called in errors).</summary>
    public string FilePath { get; }

    ComponentConfig(string filePath, JsonElement root, string prefix)
    {
        FilePath = filePath; _root = root; _prefix = prefix;
    }

    /// <summary>Reads <c>config.json</c> or <c>scheduler_config.json</c> of a component folder.</summary>
    public static ComponentConfig Load(string componentDir)
    {
        if (!Directory.Exists(componentDir)) throw new CheckpointException(componentDir, "component folder not found");
        foreach (var name in FileNames)
        {
            string path = Path.Combine(componentDir, name);
            if (File.Exists(path)) return FromFile(path);
        }
        throw new CheckpointException(Path.Combine(componentDir, FileNames[0]),
            $"config file not found (looked for {string.Join(" and ", FileNames)} in {componentDir})");
    }

    /// <summary>Reads any JSON object file (for example preprocessor_config.json or a safetensors index).</summary>
    public static ComponentConfig FromFile(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        JsonElement root;
        try
        {
            var options = new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip };
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), options);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new CheckpointException(path, $"not valid JSON ({e.Message})", e); }
        return FromElement(path, root);
    }

    /// <summary>A config from parsed JSON; <paramref name="source"/> names it in errors.</summary>
    public static ComponentConfig FromElement(string source, JsonElement root) =>
        root.ValueKind == JsonValueKind.Object ? new(source, root.Clone(), "")
            : throw new CheckpointException(source, $"expected a JSON object, found {ConfigKind.Describe(root.ValueKind)}");

    /// <summary>A copy with <paramref name="key"/> set to a number, as diffusers' <c>from_config(config, key=value)</c>.</summary>
    public ComponentConfig With(string key, double value)
    {
        var copy = JsonObject.Create(_root)!;
        copy[key] = value;
        return new ComponentConfig(FilePath, JsonSerializer.SerializeToElement(copy), _prefix);
    }

    /// <summary>The raw JSON object.</summary>
    public JsonElement Root => _root;

    /// <summary><c>_class_name</c>, or null where the file has none.</summary>
    public string? ClassName => GetOptionalString("_class_name");

    public IEnumerable<string> Keys => _root.EnumerateObject().Select(p => p.Name);

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>The key's value; when absent, <paramref name="fallback"/>, or a "missing key" error when that is null.
    /// A null value is an error: callers that accept None read with <see cref="ReadOptional"/>.</summary>
    internal object Read(string key, ConfigKind kind, object? fallback = null)
    {
        if (!_root.TryGetProperty(key, out var v))
            return fallback ?? throw new CheckpointException(FilePath, $"missing key '{_prefix}{key}' (expected {kind.Name})");
        return kind.Read(this, key, v);
    }

    /// <summary>The key's value; null when it is JSON null; <paramref name="fallback"/> when absent.</summary>
    internal object? ReadOptional(string key, ConfigKind kind, object? fallback = null)
    {
        if (!_root.TryGetProperty(key, out var v)) return fallback;
        return v.ValueKind == JsonValueKind.Null ? null : kind.Read(this, key, v);
    }

    internal ComponentConfig Nested(string key, JsonElement value) => new(FilePath, value, _prefix + key + ".");

    internal CheckpointException WrongKind(string key, string expected, JsonElement found, int? index = null) =>
        new(FilePath, $"key '{_prefix}{key}'{(index is int i ? $"[{i}]" : "")}: expected {expected}, found {ConfigKind.Describe(found.ValueKind)}"
            + (found.ValueKind is JsonValueKind.Number or JsonValueKind.String ? $" {found.GetRawText()}" : ""));

    /// <summary>An error for a value VisualGen does not run, naming the file, the key, the value and why.</summary>
    public CheckpointException Unsupported(string key, string why)
    {
        string value = _root.TryGetProperty(key, out var v) ? v.GetRawText() : "(absent)";
        return new(FilePath, $"key '{_prefix}{key}': {value} is not supported ({why})");
    }

    /// <summary>Throws when a boolean option VisualGen does not implement is true.</summary>
    public void RejectTrue(string key)
    {
        if (GetBool(key, false)) throw Unsupported(key, "VisualGen implements only false");
    }

    /// <summary>The string option, <paramref name="fallback"/> when absent; throws unless it is one of <paramref name="supported"/>.</summary>
    public string RequireOneOf(string key, string fallback, params string[] supported)
    {
        var v = GetString(key, fallback);
        if (Array.IndexOf(supported, v) < 0)
            throw Unsupported(key, $"supported: {string.Join(", ", supported)}");
        return v;
    }
}
