namespace VisualGen.Tokenizers;

/// <summary>
/// One tokenized prompt as a text encoder takes it: <see cref="InputIds"/> and <see cref="AttentionMask"/>
/// (1 for a real token, 0 for padding), both of <see cref="Length"/> elements, int64 like the graph inputs.
/// </summary>
public sealed class TokenizedText
{
    public long[] InputIds { get; }
    public long[] AttentionMask { get; }
    public int Length => InputIds.Length;

    /// <summary>Number of real (unpadded) tokens: the sum of the mask.</summary>
    public int TokenCount { get; }

    /// <summary>Tokens of the text cut off by truncation (0 when it fit): diffusers warns when this is not 0.</summary>
    public int TruncatedTokenCount { get; }

    public TokenizedText(long[] inputIds, long[] attentionMask, int truncatedTokenCount = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(truncatedTokenCount);
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        if (inputIds.Length != attentionMask.Length)
            throw new ArgumentException($"input ids ({inputIds.Length}) and attention mask ({attentionMask.Length}) differ in length", nameof(attentionMask));
        int count = 0;
        foreach (var m in attentionMask)
        {
            if (m is not (0 or 1)) throw new ArgumentException($"attention mask holds {m}; only 0 and 1 are allowed", nameof(attentionMask));
            count += (int)m;
        }
        InputIds = inputIds; AttentionMask = attentionMask; TokenCount = count; TruncatedTokenCount = truncatedTokenCount;
    }
}
