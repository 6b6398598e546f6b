using System.Text.Json;

namespace VisualGen.Schedulers;

/// <summary>
/// A checkpoint's scheduler/scheduler_config.json: its <c>_class_name</c> and typed reads of its keys, with
/// diffusers' defaults for absent keys. Errors name the file, the key and the value. <see cref="With"/> overrides
/// a key (as diffusers' <c>from_config(config, key=value)</c>).
/// </summary>
public sealed class SchedulerConfig
{
    readonly IReadOnlyDictionary<string, JsonElement> _values;

    /// <summary>Where the config came from (a file path or a description), used in error messages.</summary>
    public string Source { get; }

    public string ClassName { get; }

    SchedulerConfig(string source, string className, IReadOnlyDictionary<string, JsonElement> values)
    {
        Source = source; ClassName = className; _values = values;
    }

    /// <summary>Reads scheduler_config.json from a file, or from a folder holding it (a checkpoint's scheduler/ folder).</summary>
    public static SchedulerConfig Load(string path)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, "scheduler_config.json") : path;
        if (!File.Exists(file)) throw new SchedulerException($"{file}: scheduler config not found");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(file)); }
        catch (JsonException e) { throw new SchedulerException($"{file}: not valid JSON: {e.Message}", e); }
        using (doc) return FromJson(doc.RootElement, file);
    }

    /// <summary>Reads a config from a parsed JSON object; <paramref name="source"/> names it in errors.</summary>
    public static SchedulerConfig FromJson(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new SchedulerException($"{source}: scheduler config is not a JSON object");
        var values = new Dictionary<string, JsonElement>();
        foreach (var p in root.EnumerateObject()) values[p.Name] = p.Value.Clone();
        if (!values.TryGetValue("_class_name", out var cls) || cls.ValueKind != JsonValueKind.String)
            throw new SchedulerException($"{source}: scheduler config has no \"_class_name\" string");
        return new SchedulerConfig(source, cls.GetString()!, values);
    }

    /// <summary>A copy with <paramref name="key"/> set to a number.</summary>
    public SchedulerConfig With(string key, double value)
    {
        var values = new Dictionary<string, JsonElement>(_values) { [key] = JsonSerializer.SerializeToElement(value) };
        return new SchedulerConfig($"{Source} (with {key}={value})", ClassName, values);
    }

    public bool Contains(string key) => _values.ContainsKey(key);

    bool TryGet(string key, out JsonElement e) =>
        _values.TryGetValue(key, out e) && e.ValueKind != JsonValueKind.Null;

    SchedulerException Bad(string key, JsonElement e, string want) =>
        new($"{Source}: \"{key}\" is {e.GetRawText()}, expected {want}");

    public double? GetNullableDouble(string key, double? fallback = null)
    {
        if (!TryGet(key, out var e)) return _values.ContainsKey(key) ? null : fallback;
        return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Bad(key, e, "a number");
    }

    public double GetDouble(string key, double fallback)
    {
        if (!TryGet(key, out var e))
        {
            if (_values.ContainsKey(key)) throw new SchedulerException($"{Source}: \"{key}\" is null, expected a number");
            return fallback;
        }
        return e.ValueKind == JsonValueKind.Number ? e.GetDouble() : throw Bad(key, e, "a number");
    }

    public int GetInt(string key, int fallback)
    {
        if (!TryGet(key, out var e)) return fallback;
        return e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int v) ? v : throw Bad(key, e, "an integer");
    }

    public bool GetBool(string key, bool fallback)
    {
        if (!TryGet(key, out var e)) return fallback;
        return e.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => throw Bad(key, e, "true or false"),
        };
    }

    public string GetString(string key, string fallback)
    {
        if (!TryGet(key, out var e)) return fallback;
        return e.ValueKind == JsonValueKind.String ? e.GetString()! : throw Bad(key, e, "a string");
    }

    public IReadOnlyList<int> GetIntList(string key)
    {
        if (!TryGet(key, out var e)) return [];
        if (e.ValueKind != JsonValueKind.Array) throw Bad(key, e, "a list of integers");
        var list = new List<int>();
        foreach (var x in e.EnumerateArray())
            list.Add(x.ValueKind == JsonValueKind.Number && x.TryGetInt32(out int v) ? v : throw Bad(key, e, "a list of integers"));
        return list;
    }

    /// <summary>True when the key is present and not null (for options such as solver_p that must be absent).</summary>
    public bool IsSet(string key) => TryGet(key, out _);

    /// <summary>The raw JSON of a key, for error messages.</summary>
    public string Raw(string key) => _values.TryGetValue(key, out var e) ? e.GetRawText() : "(absent)";

    /// <summary>Throws when a boolean option this implementation does not support is true.</summary>
    public void RejectTrue(string key)
    {
        if (GetBool(key, false))
            throw new SchedulerException($"{Source}: \"{key}\": true is not supported by {ClassName} in VisualGen");
    }

    /// <summary>Throws unless the string option is one of <paramref name="allowed"/>.</summary>
    public string RequireOneOf(string key, string fallback, params string[] allowed)
    {
        var v = GetString(key, fallback);
        if (Array.IndexOf(allowed, v) < 0)
            throw new SchedulerException(
                $"{Source}: \"{key}\": \"{v}\" is not supported by {ClassName} in VisualGen (supported: {string.Join(", ", allowed)})");
        return v;
    }
}
