using System.Text;
using Microsoft.ML.Tokenizers;

namespace VisualGen.Tokenizers.Text;

/// <summary>
/// CLIP's normalizer (tokenizer.json: NFC, Replace <c>\s+</c> → " ", Lowercase). Microsoft's
/// LowerCaseNormalizer alone would skip the NFC and whitespace steps, which change the ids of
/// decomposed accents and of tabs/newlines next to punctuation.
/// </summary>
internal sealed class ClipTextNormalizer : Normalizer
{
    public override string Normalize(string original)
    {
        string nfc = original.Normalize(NormalizationForm.FormC);
        var sb = new StringBuilder(nfc.Length);
        bool inRun = false;
        foreach (char c in nfc)
        {
            // Rust's regex \s is Unicode White_Space: the same set as char.IsWhiteSpace.
            if (char.IsWhiteSpace(c)) { if (!inRun) sb.Append(' '); inRun = true; continue; }
            inRun = false;
            // Rust's char::to_lowercase is the full mapping: U+0130 (İ) becomes "i̇" (two code points);
            // .NET's invariant lower-casing is the simple mapping (one char). Every other full mapping is conditional.
            if (c == '\u0130') sb.Append("i\u0307");
            else sb.Append(char.ToLowerInvariant(c));
        }
        return sb.ToString();
    }

    public override string Normalize(ReadOnlySpan<char> original) => Normalize(original.ToString());
}
