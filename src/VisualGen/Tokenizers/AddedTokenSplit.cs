using System.Text.RegularExpressions;

namespace VisualGen.Tokenizers;

/// <summary>Hugging Face's handling of added tokens: the text is split at each occurrence of one (longest first, so a
/// token that contains another is matched whole), each added token becomes its id, and the model encodes the text
/// between them.</summary>
internal sealed class AddedTokenSplit(IReadOnlyDictionary<string, int> added)
{
    readonly Regex? _pattern = added.Count == 0 ? null
        : new Regex(string.Join("|", added.Keys.OrderByDescending(k => k.Length).Select(Regex.Escape)), RegexOptions.CultureInvariant);

    public IReadOnlyList<int> Encode(string text, Action<string, List<int>> encodeSegment)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        int at = 0;
        if (_pattern is not null)
            foreach (Match m in _pattern.Matches(text))
            {
                encodeSegment(text[at..m.Index], ids);
                ids.Add(added[m.Value]);
                at = m.Index + m.Length;
            }
        encodeSegment(text[at..], ids);
        return ids;
    }
}
