using System.Text.RegularExpressions;

namespace VisualGen.Tokenizers;

/// <summary>Hugging Face's handling of added tokens: the text is split at each occurrence of one (longest first, by the
/// pattern), each added token becomes its id, and the model encodes the text between them.</summary>
internal static class AddedTokenSplit
{
    public static IReadOnlyList<int> Encode(string text, Regex? pattern, IReadOnlyDictionary<string, int> added, Action<string, List<int>> encodeSegment)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>();
        int at = 0;
        if (pattern is not null)
            foreach (Match m in pattern.Matches(text))
            {
                encodeSegment(text[at..m.Index], ids);
                ids.Add(added[m.Value]);
                at = m.Index + m.Length;
            }
        encodeSegment(text[at..], ids);
        return ids;
    }
}
