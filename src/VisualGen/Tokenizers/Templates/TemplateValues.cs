using System.Globalization;
using System.Text;

namespace VisualGen.Tokenizers.Templates;

/// <summary>Jinja (Python) semantics of template values: truth, text, operators, attributes and items.</summary>
internal static class TemplateValues
{
    public static bool Truthy(object? v) => v switch
    {
        null or Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        List<object?> l => l.Count > 0,
        Dictionary<string, object?> d => d.Count > 0,
        _ => true,
    };

    /// <summary>The text Python's str() gives (True, None, 1.0, ['a', 1]).</summary>
    public static string Text(object? v) => v switch
    {
        string s => s,
        _ => Repr(v, quoteStrings: false),
    };

    static string Repr(object? v, bool quoteStrings) => v switch
    {
        null => "None",
        Undefined => "",
        bool b => b ? "True" : "False",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatText(d),
        string s => quoteStrings ? "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'" : s,
        List<object?> l => "[" + string.Join(", ", l.Select(x => Repr(x, true))) + "]",
        Dictionary<string, object?> d => "{" + string.Join(", ", d.Select(kv => $"{Repr(kv.Key, true)}: {Repr(kv.Value, true)}")) + "}",
        _ => v.ToString() ?? "",
    };

    static string FloatText(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsInfinity(d)) return d > 0 ? "inf" : "-inf";
        string r = d.ToString("R", CultureInfo.InvariantCulture);
        return r.Contains('.') || r.Contains('E') ? r : r + ".0";
    }

    public static TemplateException UndefinedError(Expr? source) =>
        new($"'{Describe(source)}' is undefined (the chat template reads a value the caller did not give)");

    static string Describe(Expr? e) => e switch
    {
        Variable v => v.Name,
        Attribute a => $"{Describe(a.Target)}.{a.Name}",
        Index i => $"{Describe(i.Target)}[...]",
        _ => "value",
    };

    public static object? Attribute(object? target, string name, Expr? source) => target switch
    {
        Undefined => throw UndefinedError(source),
        Dictionary<string, object?> d => d.TryGetValue(name, out var v) ? v : Undefined.Value,
        _ => Undefined.Value,
    };

    public static object? Item(object? target, object? key, Expr? source)
    {
        switch (target)
        {
            case Undefined: throw UndefinedError(source);
            case Dictionary<string, object?> d: return key is string k && d.TryGetValue(k, out var v) ? v : Undefined.Value;
            case List<object?> l when key is long i: return (i < 0 ? l.Count + i : i) is var at && at >= 0 && at < l.Count ? l[(int)at] : Undefined.Value;
            case string s when key is long j: return (j < 0 ? s.Length + j : j) is var pos && pos >= 0 && pos < s.Length ? s[(int)pos].ToString() : Undefined.Value;
            default: throw new TemplateException($"cannot index {TypeName(target)} with {TypeName(key)}");
        }
    }

    public static object? Slice(object? target, object? start, object? stop, object? step)
    {
        long st = step is long s ? s : 1;
        if (st == 0) throw new TemplateException("slice step cannot be zero");
        int count = target switch { List<object?> l => l.Count, string str => str.Length, _ => throw new TemplateException($"cannot slice {TypeName(target)}") };
        var indices = new List<int>();
        long Clamp(object? v, long dflt)
        {
            if (v is not long x) return dflt;
            if (x < 0) x += count;
            return st > 0 ? Math.Clamp(x, 0, count) : Math.Clamp(x, -1, count - 1);
        }
        long a = Clamp(start, st > 0 ? 0 : count - 1), b = Clamp(stop, st > 0 ? count : -1);
        for (long i = a; st > 0 ? i < b : i > b; i += st) indices.Add((int)i);
        return target is string text
            ? string.Concat(indices.Select(i => text[i]))
            : indices.Select(i => ((List<object?>)target!)[i]).ToList();
    }

    public static object? Binary(string op, object? l, object? r)
    {
        switch (op)
        {
            case "~": return Text(l) + Text(r);
            case "==": return AreEqual(l, r);
            case "!=": return !AreEqual(l, r);
            case "in": return Contains(r, l);
            case "<": return Compare(l, r) < 0;
            case ">": return Compare(l, r) > 0;
            case "<=": return Compare(l, r) <= 0;
            case ">=": return Compare(l, r) >= 0;
        }
        if (l is Undefined || r is Undefined) throw new TemplateException($"'{op}' on an undefined value");
        if (op == "+" && l is string ls && r is string rs) return ls + rs;
        if (op == "+" && l is List<object?> ll && r is List<object?> rl) return ll.Concat(rl).ToList();
        if (op == "*" && l is string rep && r is long times) return string.Concat(Enumerable.Repeat(rep, (int)Math.Max(0, times)));
        if (!IsNumber(l) || !IsNumber(r)) throw new TemplateException($"'{op}' between {TypeName(l)} and {TypeName(r)}");
        if (l is long a && r is long b && op is not "/")
            return op switch
            {
                "+" => a + b,
                "-" => a - b,
                "*" => a * b,
                "//" => b == 0 ? throw new TemplateException("division by zero") : (long)Math.Floor(a / (double)b),
                "%" => b == 0 ? throw new TemplateException("division by zero") : ((a % b) + b) % b,
                _ => throw new TemplateException($"unknown operator '{op}'"),
            };
        double x = ToDouble(l), y = ToDouble(r);
        return op switch
        {
            "+" => x + y,
            "-" => x - y,
            "*" => x * y,
            "/" => y == 0 ? throw new TemplateException("division by zero") : x / y,
            "//" => Math.Floor(x / y),
            "%" => x - y * Math.Floor(x / y),
            _ => throw new TemplateException($"unknown operator '{op}'"),
        };
    }

    static bool IsNumber(object? v) => v is long or double or bool;

    static double ToDouble(object? v) => v switch { long l => l, double d => d, bool b => b ? 1 : 0, _ => double.NaN };

    public static bool AreEqual(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a) == ToDouble(b);
        return (a, b) switch
        {
            (null, null) => true,
            (Undefined, Undefined) => true,
            (string x, string y) => x == y,
            (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => AreEqual(p.First, p.Second)),
            (Dictionary<string, object?> x, Dictionary<string, object?> y) =>
                x.Count == y.Count && x.All(kv => y.TryGetValue(kv.Key, out var v) && AreEqual(kv.Value, v)),
            _ => false,
        };
    }

    static int Compare(object? a, object? b)
    {
        if (IsNumber(a) && IsNumber(b)) return ToDouble(a).CompareTo(ToDouble(b));
        if (a is string x && b is string y) return string.CompareOrdinal(x, y);
        throw new TemplateException($"cannot compare {TypeName(a)} with {TypeName(b)}");
    }

    static bool Contains(object? container, object? item) => container switch
    {
        string s when item is string sub => s.Contains(sub, StringComparison.Ordinal),
        List<object?> l => l.Any(x => AreEqual(x, item)),
        Dictionary<string, object?> d => item is string k && d.ContainsKey(k),
        _ => throw new TemplateException($"'in' needs a string, list or mapping on its right, got {TypeName(container)}"),
    };

    public static string TypeName(object? v) => v switch
    {
        null => "none",
        Undefined => "an undefined value",
        string => "a string",
        long => "an integer",
        double => "a float",
        bool => "a boolean",
        List<object?> => "a list",
        Dictionary<string, object?> => "a mapping",
        _ => v.GetType().Name,
    };

    /// <summary>The items a for loop walks: a list's values, a mapping's keys, a string's characters.</summary>
    public static List<object?> Iterate(object? v, Expr source) => v switch
    {
        List<object?> l => l,
        Dictionary<string, object?> d => d.Keys.Cast<object?>().ToList(),
        string s => s.Select(c => (object?)c.ToString()).ToList(),
        Undefined => throw UndefinedError(source),
        _ => throw new TemplateException($"cannot loop over {TypeName(v)}"),
    };

    /// <summary>JSON as Hugging Face's tojson writes it (Python's json.dumps, non-ASCII kept).</summary>
    public static string Json(object? v, int? indent, int depth = 0)
    {
        string pad = indent is int n ? "\n" + new string(' ', n * (depth + 1)) : "";
        string end = indent is int m ? "\n" + new string(' ', m * depth) : "";
        string sep = indent is null ? ", " : ",";
        return v switch
        {
            null or Undefined => "null",
            bool b => b ? "true" : "false",
            long or double => Text(v),
            string s => JsonString(s),
            List<object?> l => l.Count == 0 ? "[]" : "[" + pad + string.Join(sep + pad, l.Select(x => Json(x, indent, depth + 1))) + end + "]",
            Dictionary<string, object?> d => d.Count == 0 ? "{}" :
                "{" + pad + string.Join(sep + pad, d.Select(kv => $"{JsonString(kv.Key)}: {Json(kv.Value, indent, depth + 1)}")) + end + "}",
            _ => JsonString(v.ToString() ?? ""),
        };
    }

    static string JsonString(string s)
    {
        var b = new StringBuilder("\"");
        foreach (char c in s)
            b.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                '\b' => "\\b",
                '\f' => "\\f",
                < ' ' => $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        return b.Append('"').ToString();
    }
}
