namespace VisualGen.Tokenizers.Templates;

/// <summary>The Python methods chat templates call on strings and mappings (<c>content.strip()</c>, <c>message.get('x')</c>).</summary>
internal static class TemplateMethods
{
    public static object? Invoke(object? target, string name, List<(string? Name, object? Value)> args)
    {
        object? Arg(int i, object? dflt = null) => i < args.Count ? args[i].Value : dflt;
        switch (target)
        {
            case string s:
                switch (name)
                {
                    case "strip": return Arg(0) is string cs ? s.Trim(cs.ToCharArray()) : s.Trim();
                    case "lstrip": return Arg(0) is string cl ? s.TrimStart(cl.ToCharArray()) : s.TrimStart();
                    case "rstrip": return Arg(0) is string cr ? s.TrimEnd(cr.ToCharArray()) : s.TrimEnd();
                    case "upper": return s.ToUpperInvariant();
                    case "lower": return s.ToLowerInvariant();
                    case "title": return TemplateFilters.Title(s);
                    case "capitalize": return TemplateFilters.Capitalize(s);
                    case "startswith": return Affixes(Arg(0)).Any(p => s.StartsWith(p, StringComparison.Ordinal));
                    case "endswith": return Affixes(Arg(0)).Any(p => s.EndsWith(p, StringComparison.Ordinal));
                    case "replace": return s.Replace(Str(Arg(0), "replace"), Str(Arg(1), "replace"), StringComparison.Ordinal);
                    case "find": return (long)s.IndexOf(Str(Arg(0), "find"), StringComparison.Ordinal);
                    case "count": return (long)(s.Split(Str(Arg(0), "count")).Length - 1);
                    case "join": return string.Join(s, TemplateValues.Iterate(Arg(0), new Literal(null)).Select(TemplateValues.Text));
                    case "split":
                        var parts = Arg(0) is string sep
                            ? s.Split(sep, Arg(1) is long max && max >= 0 ? (int)max + 1 : int.MaxValue)
                            : s.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                        return parts.Select(p => (object?)p).ToList();
                }
                break;
            case Dictionary<string, object?> d:
                switch (name)
                {
                    case "items": return d.Select(kv => (object?)new List<object?> { kv.Key, kv.Value }).ToList();
                    case "keys": return d.Keys.Select(k => (object?)k).ToList();
                    case "values": return d.Values.ToList();
                    case "get": return Arg(0) is string k && d.TryGetValue(k, out var v) ? v : Arg(1);
                }
                break;
            case Undefined:
                throw new TemplateException($"'{name}()' called on an undefined value");
        }
        throw new TemplateException($"{TemplateValues.TypeName(target)} has no method '{name}' this renderer knows");
    }

    static IEnumerable<string> Affixes(object? v) => v switch
    {
        string s => [s],
        List<object?> l => l.Select(x => Str(x, "startswith/endswith")),
        _ => throw new TemplateException($"startswith/endswith needs a string or a tuple of strings, got {TemplateValues.TypeName(v)}"),
    };

    public static string Str(object? v, string what) =>
        v as string ?? throw new TemplateException($"'{what}' needs a string, got {TemplateValues.TypeName(v)}");
}

/// <summary>The global functions of Hugging Face's chat-template environment that this renderer provides.</summary>
internal static class TemplateFunctions
{
    public static object? Invoke(string name, List<(string? Name, object? Value)> args, TemplateScope scope)
    {
        switch (name)
        {
            case "raise_exception":
                throw new TemplateException($"the chat template refuses the input: {(args.Count > 0 ? TemplateValues.Text(args[0].Value) : "")}");
            case "namespace":
            case "dict":
                var ns = name == "namespace" ? new TemplateNamespace() : new Dictionary<string, object?>();
                foreach (var (key, value) in args)
                    ns[key ?? throw new TemplateException($"{name}() takes keyword arguments only")] = value;
                return ns;
            case "range":
                var n = args.Select(a => a.Value is long l ? l : throw new TemplateException("range() takes integers")).ToList();
                var (start, stop, step) = n.Count switch
                {
                    1 => (0L, n[0], 1L),
                    2 => (n[0], n[1], 1L),
                    3 => (n[0], n[1], n[2]),
                    _ => throw new TemplateException("range() takes 1 to 3 integers"),
                };
                if (step == 0) throw new TemplateException("range() step cannot be zero");
                var items = new List<object?>();
                for (long i = start; step > 0 ? i < stop : i > stop; i += step) items.Add(i);
                return items;
        }
        if (scope.Lookup(name) is Undefined) throw new TemplateException($"'{name}' is not a function this renderer knows");
        throw new TemplateException($"'{name}' is not callable");
    }
}

/// <summary>The mutable object of <c>namespace(…)</c>: the one value a template may assign attributes of.</summary>
internal sealed class TemplateNamespace : Dictionary<string, object?>;
