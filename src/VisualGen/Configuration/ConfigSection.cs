using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace VisualGen.Configuration;

/// <summary>
/// One mapping of a YAML configuration, read strictly: each value is taken by key with its type checked, and
/// <see cref="RejectUnknown"/> refuses any key left over, naming its path (<c>attention_config.backnd</c>) and the
/// keys that section knows. Errors are <see cref="ConfigException"/>s that name the file and the key.
/// </summary>
internal sealed class ConfigSection(YamlMappingNode node, string path, string origin)
{
    readonly HashSet<string> _taken = [];

    public static ConfigSection Root(string yaml, string origin)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlDotNet.Core.YamlException e) { throw new ConfigException(origin, $"not valid YAML (line {e.Start.Line}): {e.Message}"); }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            return new ConfigSection(new YamlMappingNode(), "", origin);
        if (stream.Documents.Count > 1) throw new ConfigException(origin, "holds several YAML documents; a configuration is one mapping");
        return stream.Documents[0].RootNode is YamlMappingNode m
            ? new ConfigSection(m, "", origin)
            : throw new ConfigException(origin, "the document root must be a mapping of sections (attention_config: …, cache_config: …)");
    }

    string Key(string key) => path.Length == 0 ? key : $"{path}.{key}";

    YamlNode? Node(string key)
    {
        _taken.Add(key);
        return node.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;
    }

    public bool Has(string key) => node.Children.ContainsKey(new YamlScalarNode(key));

    string? Scalar(string key)
    {
        var v = Node(key);
        if (v is null or YamlScalarNode { Value: null or "~" or "null" } or YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "" }) return null;
        return v is YamlScalarNode s ? s.Value : throw new ConfigException(origin, $"{Key(key)} must be a single value, not a {(v is YamlMappingNode ? "mapping" : "list")}");
    }

    public string? String(string key, params string[] allowed)
    {
        string? v = Scalar(key);
        if (v is not null && allowed.Length > 0 && !allowed.Contains(v))
            throw new ConfigException(origin, $"{Key(key)}: '{v}' is not one of {string.Join(", ", allowed)}");
        return v;
    }

    public double? Number(string key, double min = double.NegativeInfinity, double max = double.PositiveInfinity)
    {
        string? v = Scalar(key);
        if (v is null) return null;
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || double.IsNaN(d))
            throw new ConfigException(origin, $"{Key(key)}: '{v}' is not a number");
        // 1e400 and Infinity parse as infinity: gpu_memory became no limit, teacache_thresh skipped every step
        if (double.IsInfinity(d)) throw new ConfigException(origin, $"{Key(key)}: '{v}' is not a finite number");
        if (d < min || d > max) throw new ConfigException(origin, $"{Key(key)}: {v} is outside [{min}, {max}]");
        return d;
    }

    public int? Integer(string key, int min = int.MinValue, int max = int.MaxValue)
    {
        string? v = Scalar(key);
        if (v is null) return null;
        if (!int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i))
            throw new ConfigException(origin, $"{Key(key)}: '{v}' is not an integer");
        if (i < min || i > max) throw new ConfigException(origin, $"{Key(key)}: {i} is outside [{min}, {max}]");
        return i;
    }

    public bool? Boolean(string key)
    {
        string? v = Scalar(key);
        return v switch
        {
            null => null,
            "true" or "True" or "TRUE" => true,
            "false" or "False" or "FALSE" => false,
            _ => throw new ConfigException(origin, $"{Key(key)}: '{v}' is not true or false"),
        };
    }

    public IReadOnlyList<double>? Numbers(string key)
    {
        var v = Node(key);
        if (v is null or YamlScalarNode { Value: null or "~" or "null" }) return null;
        if (v is not YamlSequenceNode seq) throw new ConfigException(origin, $"{Key(key)} must be a list of numbers");
        return seq.Children.Select((item, i) =>
            item is YamlScalarNode { Value: { } s } && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
                ? d
                : throw new ConfigException(origin, $"{Key(key)}[{i}] is not a finite number")).ToList();
    }

    public IReadOnlyList<string>? Strings(string key)
    {
        var v = Node(key);
        if (v is null or YamlScalarNode { Value: null or "~" or "null" }) return null;
        if (v is not YamlSequenceNode seq) throw new ConfigException(origin, $"{Key(key)} must be a list of strings");
        return seq.Children.Select((item, i) => item is YamlScalarNode { Value: { } s } ? s : throw new ConfigException(origin, $"{Key(key)}[{i}] is not a string")).ToList();
    }

    /// <summary>A nested mapping, or null when the key is absent or null.</summary>
    public ConfigSection? Section(string key)
    {
        var v = Node(key);
        if (v is null or YamlScalarNode { Value: null or "~" or "null" }) return null;
        return v is YamlMappingNode m ? new ConfigSection(m, Key(key), origin) : throw new ConfigException(origin, $"{Key(key)} must be a mapping");
    }

    /// <summary>Refuses a key that is present with the reason it cannot be honoured (a section not implemented yet).</summary>
    public void Refuse(string key, string why)
    {
        _taken.Add(key);
        if (Has(key)) throw new ConfigException(origin, $"{Key(key)}: {why}");
    }

    public void RejectUnknown()
    {
        foreach (var k in node.Children.Keys)
        {
            string name = (k as YamlScalarNode)?.Value ?? k.ToString();
            if (!_taken.Contains(name))
                throw new ConfigException(origin, $"{Key(name)}: unknown key (known here: {string.Join(", ", _taken.Order())})");
        }
    }

    public ConfigException Error(string key, string problem) => new(origin, $"{Key(key)}: {problem}");
}

/// <summary>A configuration file (or value) that cannot be used; the message names the file and the key.</summary>
public sealed class ConfigException(string origin, string problem) : Exception($"{origin}: {problem}");
