using System.Globalization;

namespace VisualGen.Tokenizers.Templates;

/// <summary>Jinja's filters (<c>x|trim</c>) and tests (<c>x is defined</c>) that chat templates use.</summary>
internal static class TemplateFilters
{
    public static object? Apply(string name, object? v, List<(string? Name, object? Value)> args)
    {
        object? Arg(int i, string key, object? dflt = null) =>
            args.FirstOrDefault(a => a.Name == key) is { Name: not null } named ? named.Value : i >= 0 && i < args.Count && args[i].Name is null ? args[i].Value : dflt;
        switch (name)
        {
            case "default" or "d":
                bool boolean = TemplateValues.Truthy(Arg(1, "boolean", false));
                return v is Undefined || (boolean && !TemplateValues.Truthy(v)) ? Arg(0, "default_value", "") : v;
            case "safe": return v;
        }
        if (v is Undefined) throw new TemplateException($"the filter '{name}' got an undefined value");
        switch (name)
        {
            case "length" or "count":
                return v switch
                {
                    string s => (long)s.Length,
                    List<object?> l => (long)l.Count,
                    Dictionary<string, object?> d => (long)d.Count,
                    _ => throw new TemplateException($"'{name}' of {TemplateValues.TypeName(v)}"),
                };
            case "string": return TemplateValues.Text(v);
            case "trim": return TemplateValues.Text(v).Trim();
            case "upper": return TemplateValues.Text(v).ToUpperInvariant();
            case "lower": return TemplateValues.Text(v).ToLowerInvariant();
            case "title": return Title(TemplateValues.Text(v));
            case "capitalize": return Capitalize(TemplateValues.Text(v));
            case "replace": return TemplateValues.Text(v).Replace(TemplateMethods.Str(Arg(0, "old"), "replace"), TemplateMethods.Str(Arg(1, "new"), "replace"), StringComparison.Ordinal);
            case "tojson": return TemplateValues.Json(v, Arg(0, "indent") as long? is long n ? (int)n : null);
            case "join": return string.Join(Arg(0, "d", "") as string ?? "", TemplateValues.Iterate(v, new Literal(v)).Select(TemplateValues.Text));
            case "list": return TemplateValues.Iterate(v, new Literal(v)).ToList();
            case "first": return TemplateValues.Iterate(v, new Literal(v)) is { Count: > 0 } f ? f[0] : Undefined.Value;
            case "last": return TemplateValues.Iterate(v, new Literal(v)) is { Count: > 0 } l2 ? l2[^1] : Undefined.Value;
            case "reverse": return v is string rs ? new string(rs.Reverse().ToArray()) : Enumerable.Reverse(TemplateValues.Iterate(v, new Literal(v))).ToList();
            case "items": return v is Dictionary<string, object?> d2 ? TemplateMethods.Invoke(d2, "items", []) : throw new TemplateException("'items' needs a mapping");
            case "int":
                return v switch
                {
                    long l => l,
                    double d => (long)Math.Truncate(d),
                    bool b => b ? 1L : 0L,
                    string s when long.TryParse(s.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out long p) => p,
                    _ => Arg(0, "default", 0L),
                };
            case "abs": return v switch { long l => Math.Abs(l), double d => Math.Abs(d), _ => throw new TemplateException("'abs' needs a number") };
            case "map":
                if (Arg(-1, "attribute") is string attr)
                    return TemplateValues.Iterate(v, new Literal(v)).Select(x => TemplateValues.Attribute(x, attr, null)).ToList();
                string filter = TemplateMethods.Str(Arg(0, "_"), "map");
                return TemplateValues.Iterate(v, new Literal(v)).Select(x => Apply(filter, x, args.Skip(1).ToList())).ToList();
            case "selectattr" or "rejectattr":
                string attribute = TemplateMethods.Str(Arg(0, "_"), name);
                string? test = args.Count > 1 ? TemplateMethods.Str(args[1].Value, name) : null;
                var testArgs = args.Skip(2).Select(a => a.Value).ToList();
                bool keep = name == "selectattr";
                return TemplateValues.Iterate(v, new Literal(v)).Where(x =>
                {
                    var a = TemplateValues.Attribute(x, attribute, null);
                    return (test is null ? TemplateValues.Truthy(a) : Test(test, a, testArgs)) == keep;
                }).ToList();
            case "select" or "reject":
                string t = TemplateMethods.Str(Arg(0, "_"), name);
                return TemplateValues.Iterate(v, new Literal(v)).Where(x => Test(t, x, args.Skip(1).Select(a => a.Value).ToList()) == (name == "select")).ToList();
        }
        throw new TemplateException($"the filter '{name}' is not one this renderer knows");
    }

    public static bool Test(string name, object? v, List<object?> args) => name switch
    {
        "defined" => v is not Undefined,
        "undefined" => v is Undefined,
        "none" => v is null,
        "string" => v is string,
        "number" => v is long or double,
        "integer" => v is long,
        "float" => v is double,
        "boolean" => v is bool,
        "true" => v is true,
        "false" => v is false,
        "mapping" => v is Dictionary<string, object?>,
        "sequence" or "iterable" => v is string or List<object?> or Dictionary<string, object?>,
        "even" => v is long e && e % 2 == 0,
        "odd" => v is long o && o % 2 != 0,
        "divisibleby" => v is long n && args is [long m] && m != 0 && n % m == 0,
        "equalto" or "eq" or "==" or "sameas" => args.Count == 1 && TemplateValues.AreEqual(v, args[0]),
        "ne" or "!=" => args.Count == 1 && !TemplateValues.AreEqual(v, args[0]),
        "in" => args.Count == 1 && (bool)TemplateValues.Binary("in", v, args[0])!,
        "lower" => v is string l && l == l.ToLowerInvariant(),
        "upper" => v is string u && u == u.ToUpperInvariant(),
        _ => throw new TemplateException($"the test '{name}' is not one this renderer knows"),
    };

    public static string Capitalize(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    public static string Title(string s)
    {
        var chars = s.ToCharArray();
        bool start = true;
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = start ? char.ToUpperInvariant(chars[i]) : char.ToLowerInvariant(chars[i]);
            start = !char.IsLetterOrDigit(chars[i]);
        }
        return new string(chars);
    }
}
