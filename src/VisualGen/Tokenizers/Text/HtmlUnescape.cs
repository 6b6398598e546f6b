using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace VisualGen.Tokenizers.Text;

/// <summary>
/// Python's <c>html.unescape</c>: HTML5 named references (with the legacy forms that lack ';' and the
/// longest-prefix rule), decimal and hex references, the Windows-1252 remapping of 0x80..0x9F and the
/// removal of invalid code points. .NET's <c>WebUtility.HtmlDecode</c> knows only the HTML 4 names and
/// none of these rules, so prompts like "fish &amp chips" or "&#150;" would tokenize differently.
/// </summary>
public sealed class HtmlUnescape
{
    const string EntitiesResource = "VisualGen.Tokenizers.Text.Html5Entities.txt";

    static readonly Regex CharRef = new(@"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)", RegexOptions.CultureInvariant);

    // HTML5's "numeric character reference end state" table: C1 controls read as Windows-1252.
    static readonly Dictionary<int, string> InvalidCharRefs = new()
    {
        [0x00] = "\ufffd", [0x0d] = "\r", [0x80] = "\u20ac", [0x81] = "\u0081", [0x82] = "\u201a", [0x83] = "\u0192",
        [0x84] = "\u201e", [0x85] = "\u2026", [0x86] = "\u2020", [0x87] = "\u2021", [0x88] = "\u02c6", [0x89] = "\u2030",
        [0x8a] = "\u0160", [0x8b] = "\u2039", [0x8c] = "\u0152", [0x8d] = "\u008d", [0x8e] = "\u017d", [0x8f] = "\u008f",
        [0x90] = "\u0090", [0x91] = "\u2018", [0x92] = "\u2019", [0x93] = "\u201c", [0x94] = "\u201d", [0x95] = "\u2022",
        [0x96] = "\u2013", [0x97] = "\u2014", [0x98] = "\u02dc", [0x99] = "\u2122", [0x9a] = "\u0161", [0x9b] = "\u203a",
        [0x9c] = "\u0153", [0x9d] = "\u009d", [0x9e] = "\u017e", [0x9f] = "\u0178",
    };

    readonly Dictionary<string, string> _entities;

    HtmlUnescape(Dictionary<string, string> entities) { _entities = entities; }

    /// <summary>Loads the HTML5 entity table embedded in this library.</summary>
    public static HtmlUnescape Create()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EntitiesResource)
            ?? throw new InvalidOperationException($"embedded resource '{EntitiesResource}' is missing from {Assembly.GetExecutingAssembly().GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var entities = new Dictionary<string, string>(StringComparer.Ordinal);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length == 0 || line[0] == '#') continue;
            int tab = line.IndexOf('\t');
            var sb = new StringBuilder(2);
            foreach (var cp in line[(tab + 1)..].Split(' '))
                sb.Append(char.ConvertFromUtf32(int.Parse(cp, NumberStyles.HexNumber, CultureInfo.InvariantCulture)));
            entities[line[..tab]] = sb.ToString();
        }
        return new HtmlUnescape(entities);
    }

    public string Unescape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains('&')) return text;
        return CharRef.Replace(text, m => Replace(m.Groups[1].Value));
    }

    string Replace(string s)
    {
        if (s[0] == '#')
        {
            bool hex = s[1] is 'x' or 'X';
            var digits = s.AsSpan(hex ? 2 : 1).TrimEnd(';');
            // Python's int is unbounded: anything that overflows here is > 0x10FFFF anyway.
            bool ok = long.TryParse(digits, hex ? NumberStyles.AllowHexSpecifier : NumberStyles.None, CultureInfo.InvariantCulture, out long num);
            if (!ok || num > 0x10FFFF) return "\ufffd";
            if (InvalidCharRefs.TryGetValue((int)num, out var mapped)) return mapped;
            if (num is >= 0xD800 and <= 0xDFFF) return "\ufffd";
            if (IsInvalidCodePoint((int)num)) return "";
            return char.ConvertFromUtf32((int)num);
        }
        if (_entities.TryGetValue(s, out var named)) return named;
        // The longest name that prefixes the reference (legacy names without ';'), the rest kept as text.
        for (int x = s.Length - 1; x > 1; x--)
            if (_entities.TryGetValue(s[..x], out var prefix)) return prefix + s[x..];
        return "&" + s;
    }

    static bool IsInvalidCodePoint(int cp) =>
        cp is >= 0x1 and <= 0x8 or 0xb or >= 0xe and <= 0x1f or >= 0x7f and <= 0x9f or >= 0xfdd0 and <= 0xfdef
        || (cp & 0xfffe) == 0xfffe;
}
