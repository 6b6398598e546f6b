namespace VisualGen.Tokenizers.Templates;

/// <summary>A piece of template source: literal text, an output tag <c>{{ … }}</c> or a statement tag <c>{% … %}</c>.</summary>
internal readonly record struct TemplatePiece(TemplatePieceKind Kind, string Text, int Offset);

internal enum TemplatePieceKind { Text, Output, Statement }

/// <summary>
/// Splits Jinja source into text and tags with the whitespace rules of the environment Hugging Face renders chat
/// templates in: <c>-</c> on a tag strips the whitespace beside it, <c>trim_blocks</c> drops the first newline after
/// a statement or comment tag, <c>lstrip_blocks</c> drops the spaces and tabs before one at the start of a line
/// (<c>+</c> on a tag turns those two off for it). Comments <c>{# … #}</c> produce nothing.
/// </summary>
internal static class TemplateLexer
{
    public static List<TemplatePiece> Split(string source)
    {
        var pieces = new List<TemplatePiece>();
        int pos = 0;
        bool stripNextLeading = false, trimNextNewline = false;
        while (pos <= source.Length)
        {
            int open = NextTag(source, pos);
            int textEnd = open < 0 ? source.Length : open;
            string raw = source[pos..textEnd], text = raw;
            if (trimNextNewline) text = text.StartsWith("\r\n", StringComparison.Ordinal) ? text[2..] : text.StartsWith('\n') ? text[1..] : text;
            if (stripNextLeading) text = text.TrimStart();
            // the text starts a line when it starts the source or what the last tag consumed after it ended with a newline
            bool lineStart = pos == 0 || raw[..(raw.Length - text.Length)].EndsWith('\n');
            if (open < 0)
            {
                if (text.Length > 0) pieces.Add(new(TemplatePieceKind.Text, text, pos));
                break;
            }

            char kind = source[open + 1];
            char first = open + 2 < source.Length ? source[open + 2] : '\0';
            bool block = kind is '%' or '#';
            if (first == '-') text = text.TrimEnd();
            else if (block && first != '+') text = LstripLastLine(text, lineStart);
            if (text.Length > 0) pieces.Add(new(TemplatePieceKind.Text, text, pos));

            int bodyStart = open + 2 + (first is '-' or '+' ? 1 : 0);
            string close = kind switch { '{' => "}}", '%' => "%}", _ => "#}" };
            int closeAt = kind == '#' ? source.IndexOf(close, bodyStart, StringComparison.Ordinal) : FindClose(source, bodyStart, close);
            if (closeAt < 0) throw new TemplateException($"the tag opened at offset {open} is never closed with '{close}'");
            char last = source[closeAt - 1];
            int bodyEnd = closeAt - (closeAt - 1 >= bodyStart && last is '-' or '+' ? 1 : 0);
            string body = source[bodyStart..bodyEnd].Trim();
            if (kind == '{') pieces.Add(new(TemplatePieceKind.Output, body, open));
            else if (kind == '%') pieces.Add(new(TemplatePieceKind.Statement, body, open));

            stripNextLeading = last == '-' && bodyEnd < closeAt;
            trimNextNewline = block && !(last == '+' && bodyEnd < closeAt);
            pos = closeAt + 2;
        }
        return pieces;
    }

    static int NextTag(string s, int from)
    {
        for (int i = s.IndexOf('{', from); i >= 0 && i + 1 < s.Length; i = s.IndexOf('{', i + 1))
            if (s[i + 1] is '{' or '%' or '#') return i;
        return -1;
    }

    /// <summary>The end delimiter of a tag, skipping string literals inside it (a string may hold "%}").</summary>
    static int FindClose(string s, int from, string close)
    {
        for (int i = from; i < s.Length - 1; i++)
        {
            char c = s[i];
            if (c is '\'' or '"')
            {
                int end = i + 1;
                while (end < s.Length && s[end] != c) end += s[end] == '\\' ? 2 : 1;
                i = end;
            }
            else if (c == close[0] && s[i + 1] == close[1]) return i;
        }
        return -1;
    }

    /// <summary>lstrip_blocks: the spaces and tabs between the last line start and the tag go when nothing else is there.</summary>
    static string LstripLastLine(string text, bool lineStart)
    {
        int i = text.Length;
        while (i > 0 && text[i - 1] is ' ' or '\t') i--;
        return (i == 0 && lineStart) || (i > 0 && text[i - 1] == '\n') ? text[..i] : text;
    }
}

/// <summary>A chat template that cannot be parsed or rendered (the message says what and where).</summary>
public sealed class TemplateException(string message) : Exception(message);
