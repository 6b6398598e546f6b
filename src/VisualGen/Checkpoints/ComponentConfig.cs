using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>
/// A component's <c>config.json</c> (or <c>scheduler_config.json</c>) with typed getters. Required
/// getters throw a <see cref="CheckpointException"/> naming the file, the key, the expected and the
/// found JSON kind; <c>GetOptional*</c> return null when the key is absent or JSON null.
/// </summary>
public sealed class ComponentConfig
{
    static readonly string[] FileNames = ["config.json", "scheduler_config.json"];

    readonly JsonElement _root;
    readonly string _prefix;

    /// <summary>The JSON file this object came from.</summary>
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

    /// <summary>Reads any JSON object file (for example preprocessor_config.json).</summary>
    public static ComponentConfig FromFile(string path) => new(path, JsonKinds.ReadObjectFile(path), "");

    internal static ComponentConfig FromElement(string path, JsonElement root) => new(path, root, "");

    /// <summary>The raw JSON object.</summary>
    public JsonElement Root => _root;

    /// <summary><c>_class_name</c>, or null where the file has none.</summary>
    public string? ClassName => GetOptionalString("_class_name");

    public IEnumerable<string> Keys => _root.EnumerateObject().Select(p => p.Name);

    /// <summary>True when the key is present with a non-null value.</summary>
    public bool Has(string key) => _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null;

    public int GetInt(string key) => AsInt(key, Required(key, "an integer"));
    public long GetLong(string key) => AsLong(key, Required(key, "an integer"));
    public double GetDouble(string key) => AsDouble(key, Required(key, "a number"));
    public string GetString(string key) => AsString(key, Required(key, "a string"));
    public bool GetBool(string key) => AsBool(key, Required(key, "a boolean"));
    public int[] GetIntArray(string key) => AsArray(key, Required(key, "an array of integers"), "integers", e => AsInt(key, e));
    public double[] GetDoubleArray(string key) => AsArray(key, Required(key, "an array of numbers"), "numbers", e => AsDouble(key, e));
    public string[] GetStringArray(string key) => AsArray(key, Required(key, "an array of strings"), "strings", e => AsString(key, e));

    /// <summary>A nested object (for example <c>quantization_config</c>); its errors name the dotted key.</summary>
    public ComponentConfig GetObject(string key) => AsObject(key, Required(key, "an object"));

    public int? GetOptionalInt(string key) => Optional(key) is { } e ? AsInt(key, e) : null;
    public long? GetOptionalLong(string key) => Optional(key) is { } e ? AsLong(key, e) : null;
    public double? GetOptionalDouble(string key) => Optional(key) is { } e ? AsDouble(key, e) : null;
    public string? GetOptionalString(string key) => Optional(key) is { } e ? AsString(key, e) : null;
    public bool? GetOptionalBool(string key) => Optional(key) is { } e ? AsBool(key, e) : null;
    public int[]? GetOptionalIntArray(string key) => Optional(key) is { } e ? AsArray(key, e, "integers", x => AsInt(key, x)) : null;
    public double[]? GetOptionalDoubleArray(string key) => Optional(key) is { } e ? AsArray(key, e, "numbers", x => AsDouble(key, x)) : null;
    public string[]? GetOptionalStringArray(string key) => Optional(key) is { } e ? AsArray(key, e, "strings", x => AsString(key, x)) : null;
    public ComponentConfig? GetOptionalObject(string key) => Optional(key) is { } e ? AsObject(key, e) : null;

    JsonElement Required(string key, string expected)
    {
        if (!_root.TryGetProperty(key, out var v))
            throw new CheckpointException(FilePath, $"missing key '{_prefix}{key}' (expected {expected})");
        if (v.ValueKind == JsonValueKind.Null)
            throw Wrong(key, expected, v);
        return v;
    }

    JsonElement? Optional(string key) =>
        _root.TryGetProperty(key, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    CheckpointException Wrong(string key, string expected, JsonElement found) =>
        new(FilePath, $"key '{_prefix}{key}': expected {expected}, found {JsonKinds.Describe(found.ValueKind)}"
            + (found.ValueKind is JsonValueKind.Number or JsonValueKind.String ? $" {found.GetRawText()}" : ""));

    long AsLong(string key, JsonElement e)
    {
        if (e.ValueKind == JsonValueKind.Number)
        {
            if (e.TryGetInt64(out long v)) return v;
            // Python writes some integers as floats (3.0): exact integral values are accepted, others are not.
            double d = e.GetDouble();
            if (d == Math.Floor(d) && Math.Abs(d) < 9.0e15) return (long)d;
        }
        throw Wrong(key, "an integer", e);
    }

    int AsInt(string key, JsonElement e)
    {
        long v = AsLong(key, e);
        if (v < int.MinValue || v > int.MaxValue) throw Wrong(key, "a 32-bit integer", e);
        return (int)v;
    }

    double AsDouble(string key, JsonElement e) =>
        e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Wrong(key, "a number", e);

    string AsString(string key, JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Wrong(key, "a string", e);

    bool AsBool(string key, JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => throw Wrong(key, "a boolean", e),
    };

    ComponentConfig AsObject(string key, JsonElement e) =>
        e.ValueKind == JsonValueKind.Object ? new ComponentConfig(FilePath, e, _prefix + key + ".") : throw Wrong(key, "an object", e);

    T[] AsArray<T>(string key, JsonElement e, string what, Func<JsonElement, T> item)
    {
        if (e.ValueKind != JsonValueKind.Array) throw Wrong(key, "an array of " + what, e);
        var result = new T[e.GetArrayLength()];
        int i = 0;
        foreach (var x in e.EnumerateArray())
        {
            try { result[i] = item(x); }
            catch (CheckpointException)
            {
                throw new CheckpointException(FilePath, $"key '{_prefix}{key}'[{i}]: expected an array of {what}, found {JsonKinds.Describe(x.ValueKind)} {x.GetRawText()}");
            }
            i++;
        }
        return result;
    }
}
