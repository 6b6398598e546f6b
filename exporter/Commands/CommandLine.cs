namespace VisualGen.Exporter.Commands;

/// <summary>A command-line mistake; the message says which flag and what is expected.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Flags of one subcommand: <c>--name value</c> pairs, and switches (<c>--name</c> alone); each command
/// declares the names it knows, and which of them may be given more than once (their values in order).</summary>
public sealed class CommandLine
{
    readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
    readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);
    readonly HashSet<string> _read = [];

    /// <param name="text">Flags whose value is free text and may be empty (a prompt); any other empty value (<c>--model ""</c>,
    /// an unset shell variable) is a usage error naming the flag.</param>
    public CommandLine(IEnumerable<string> args, IReadOnlyCollection<string> known, IReadOnlyCollection<string>? switches = null,
        IReadOnlyCollection<string>? repeatable = null, IReadOnlyCollection<string>? text = null)
    {
        switches ??= [];
        repeatable ??= [];
        text ??= [];
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length < 3)
                throw new UsageException($"unexpected argument '{a}' (flags are --name value)");
            string name = a[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq > 0) { inline = name[(eq + 1)..]; name = name[..eq]; }
            if (switches.Contains(name))
            {
                if (inline is not null) throw new UsageException($"--{name} takes no value");
                if (!_values.TryAdd(name, "true")) throw new UsageException($"--{name} given twice");
                continue;
            }
            if (!known.Contains(name))
                throw new UsageException($"unknown flag --{name}; known: {string.Join(" ", known.Concat(switches).Order().Select(k => "--" + k))}");
            // the next token is the value unless it is one of this command's flags (--api-key --data DIR took "--data" as
            // the key); a value that merely starts with '-' (a negative number, a prompt) is still a value
            string value = inline ?? (i + 1 < list.Count && !IsFlag(list[i + 1]) ? list[++i] : throw new UsageException($"--{name} needs a value"));
            if (string.IsNullOrWhiteSpace(value) && !text.Contains(name)) throw new UsageException($"--{name} needs a value, got an empty one");
            if (repeatable.Contains(name))
            {
                if (!_repeated.TryGetValue(name, out var values)) _repeated[name] = values = [];
                values.Add(value);
                _values.TryAdd(name, value);  // String(name) reads the first
                continue;
            }
            if (_values.ContainsKey(name)) throw new UsageException($"--{name} given twice");
            _values[name] = value;
        }

        bool IsFlag(string token)
        {
            if (!token.StartsWith("--", StringComparison.Ordinal)) return false;
            string n = token[2..];
            if (n.IndexOf('=') is int eq and > 0) n = n[..eq];
            return known.Contains(n) || switches.Contains(n);
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? String(string name) => _values.TryGetValue(name, out var v) ? v : null;

    /// <summary>Every value of a flag declared repeatable, in the order given (empty when absent).</summary>
    public IReadOnlyList<string> Strings(string name) => _repeated.TryGetValue(name, out var v) ? v : [];

    /// <summary>A positive duration ("90s", "24h", "7d").</summary>
    public TimeSpan? Duration(string name) => String(name) is { } s
        ? VisualGen.Configuration.DurationText.TryParse(s) ?? throw new UsageException($"--{name} must be {VisualGen.Configuration.DurationText.Expected}, got '{s}'")
        : null;

    public string Required(string name) => String(name) ?? throw new UsageException($"--{name} is required");

    /// <summary>Refuses an output file flag that names the file an input flag reads (directly or through a symbolic
    /// link): the output is renamed over the file it names, so the input would be replaced.</summary>
    public void RequireOutputBesideInput(string output, string input)
    {
        if (String(output) is not { } target || String(input) is not { } source) return;
        string full = Path.GetFullPath(target);
        string? linked = File.Exists(source) ? new FileInfo(source).ResolveLinkTarget(returnFinalTarget: true)?.FullName : null;
        if (full == Path.GetFullPath(source) || full == linked)
            throw new UsageException($"--{output} {target} is the --{input} file; name another file (the output replaces the file it names)");
    }

    public int? Int(string name) => String(name) is { } s
        ? int.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out int v) ? v : throw new UsageException($"--{name} must be an integer, got '{s}'")
        : null;

    public long? Long(string name) => String(name) is { } s
        ? long.TryParse(s, System.Globalization.CultureInfo.InvariantCulture, out long v) ? v : throw new UsageException($"--{name} must be an integer, got '{s}'")
        : null;

    public double? Double(string name) => String(name) is { } s
        ? double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) && double.IsFinite(v)
            ? v : throw new UsageException($"--{name} must be a number, got '{s}'")
        : null;
}
