using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers.Wan;

/// <summary>
/// The Wan pipelines' <c>prompt_clean</c>: <c>basic_clean</c> (HTML-unescape twice, strip) then
/// <c>whitespace_clean</c> (collapse whitespace runs to one space, strip).
/// </summary>
/// <remarks>
/// diffusers also runs <c>ftfy.fix_text</c> first when the optional ftfy package is installed (it is not a
/// diffusers dependency; without it the step is skipped). ftfy is not reproduced here: for ASCII prompts
/// it changes nothing beyond the HTML unescaping that follows anyway; for mojibake or curly quotes the
/// result can differ from a Python install that has ftfy.
/// </remarks>
public sealed class WanPromptCleaner
{
    readonly HtmlUnescape _html;

    public WanPromptCleaner(HtmlUnescape html) { _html = html ?? throw new ArgumentNullException(nameof(html)); }

    public string Clean(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string basic = PythonWhitespace.Strip(_html.Unescape(_html.Unescape(text)));
        return PythonWhitespace.Strip(PythonWhitespace.Collapse(basic));
    }
}
