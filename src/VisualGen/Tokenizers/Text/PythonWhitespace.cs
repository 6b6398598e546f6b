using System.Text;

namespace VisualGen.Tokenizers.Text;

/// <summary>
/// Python's notion of whitespace for <c>str</c> (<c>str.isspace</c>, <c>str.strip()</c> and <c>re</c>'s
/// <c>\s</c>): .NET's <see cref="char.IsWhiteSpace(char)"/> plus U+001C..U+001F (the information
/// separators, which Python counts as whitespace and .NET does not).
/// </summary>
public static class PythonWhitespace
{
    public static bool IsSpace(char c) => char.IsWhiteSpace(c) || c is >= '\u001c' and <= '\u001f';

    /// <summary><c>text.strip()</c>.</summary>
    public static string Strip(string text)
    {
        int start = 0, end = text.Length;
        while (start < end && IsSpace(text[start])) start++;
        while (end > start && IsSpace(text[end - 1])) end--;
        return text.Substring(start, end - start);
    }

    /// <summary><c>re.sub(r"\s+", " ", text)</c>.</summary>
    public static string Collapse(string text)
    {
        var sb = new StringBuilder(text.Length);
        bool inRun = false;
        foreach (char c in text)
        {
            if (IsSpace(c)) { if (!inRun) sb.Append(' '); inRun = true; }
            else { sb.Append(c); inRun = false; }
        }
        return sb.ToString();
    }
}
