namespace VisualGen.Tokenizers;

/// <summary>
/// Hugging Face's truncation and padding for one sequence: the content is cut so that it and the
/// special tokens fit <c>maxLength</c> (so BOS/EOS always survive truncation), then padded on the
/// right (or, for left-padding tokenizers such as Gemma's, on the left) with the pad id and mask 0. The result
/// counts the content tokens that were cut.
/// </summary>
public static class TokenSequence
{
    /// <param name="content">ids of the text, no special tokens</param>
    /// <param name="bos">id put first, or null</param>
    /// <param name="eos">id put last, or null</param>
    /// <param name="maxLength">truncation length (and padded length when <paramref name="padToMaxLength"/>)</param>
    /// <param name="padId">id of the padding token</param>
    /// <param name="padToMaxLength">padding="max_length" when true; false is padding=True/"longest" for one sequence (no padding)</param>
    /// <param name="padLeft">padding_side="left": the padding goes before the tokens</param>
    public static TokenizedText Build(IReadOnlyList<int> content, int? bos, int? eos, int maxLength, int padId, bool padToMaxLength, bool padLeft = false)
    {
        ArgumentNullException.ThrowIfNull(content);
        int specials = (bos.HasValue ? 1 : 0) + (eos.HasValue ? 1 : 0);
        if (maxLength < specials)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"maximum length must hold the {specials} special token(s)");
        int kept = Math.Min(content.Count, maxLength - specials);
        int used = kept + specials;
        int length = padToMaxLength ? maxLength : used;
        var ids = new long[length];
        var mask = new long[length];
        int at = padLeft ? length - used : 0;
        if (bos.HasValue) ids[at++] = bos.Value;
        for (int i = 0; i < kept; i++) ids[at++] = content[i];
        if (eos.HasValue) ids[at++] = eos.Value;
        int first = padLeft ? length - used : 0;
        for (int i = 0; i < length; i++)
        {
            bool real = i >= first && i < first + used;
            if (real) mask[i] = 1;
            else ids[i] = padId;
        }
        return new TokenizedText(ids, mask, truncatedTokenCount: content.Count - kept);
    }
}
