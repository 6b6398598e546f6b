using VisualGen.Tokenizers;

namespace VisualGen.Tests.Tokenizers;

public class TokenSequenceTests
{
    [Fact]
    public void PadsAfterSpecialTokens()
    {
        var t = TokenSequence.Build([5, 6], bos: 9, eos: 8, maxLength: 6, padId: 0, padToMaxLength: true);
        Assert.Equal(new long[] { 9, 5, 6, 8, 0, 0 }, t.InputIds);
        Assert.Equal(new long[] { 1, 1, 1, 1, 0, 0 }, t.AttentionMask);
        Assert.Equal(4, t.TokenCount);
    }

    [Fact]
    public void TruncationKeepsEos()
    {
        var t = TokenSequence.Build([5, 6, 7, 8, 9], bos: null, eos: 1, maxLength: 3, padId: 0, padToMaxLength: true);
        Assert.Equal(new long[] { 5, 6, 1 }, t.InputIds);
        Assert.Equal(new long[] { 1, 1, 1 }, t.AttentionMask);
    }

    [Fact]
    public void NoPaddingKeepsLength()
    {
        var t = TokenSequence.Build([5, 6, 7], bos: null, eos: null, maxLength: 10, padId: 0, padToMaxLength: false);
        Assert.Equal(new long[] { 5, 6, 7 }, t.InputIds);
        Assert.Equal(new long[] { 1, 1, 1 }, t.AttentionMask);
    }

    [Fact]
    public void MaxLengthTooSmallForSpecialTokensIsAnError()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => TokenSequence.Build([5], bos: 1, eos: 2, maxLength: 1, padId: 0, padToMaxLength: true));
        Assert.Contains("special token", e.Message);
    }
}
