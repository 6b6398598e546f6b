using VisualGen.Demo;
using VisualGen.Tokenizers;
using VisualGen.Tokenizers.Wan;

namespace VisualGen.Tests.Demo;

public class DemoTokenizerTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    static int Id(string piece)
    {
        for (int i = 0; i < DemoVocabulary.Pieces.Count; i++)
            if (DemoVocabulary.Pieces[i].Text == piece) return i;
        throw new KeyNotFoundException($"piece '{piece}' is not in the demo vocabulary");
    }

    string TokenizerDir => Path.Combine(demo.Directory, "tokenizer");

    [Fact]
    public void Vocabulary_has_unique_pieces_and_t5_specials_first()
    {
        var pieces = DemoVocabulary.Pieces;
        Assert.Equal(pieces.Count, pieces.Select(p => p.Text).Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(["<pad>", "</s>", "<unk>"], pieces.Take(3).Select(p => p.Text));
        Assert.InRange(pieces.Count, 300, 1000);
        foreach (char c in "abcxyzABCXYZ0189.,!?")
        {
            Id(c.ToString());
            if (char.IsLetter(c)) Id("\u2581" + c);
        }
    }

    [Fact]
    public void Wan_prompt_tokenizer_splits_a_prompt_into_whole_words()
    {
        var tokenizer = WanPromptTokenizer.Load(TokenizerDir, maxSequenceLength: 16);
        var tokens = tokenizer.Tokenize("A red fox runs across a snowy field.");
        string[] expectedPieces = ["\u2581A", "\u2581red", "\u2581fox", "\u2581runs", "\u2581across", "\u2581a", "\u2581snowy", "\u2581field", "."];
        long[] expected = [.. expectedPieces.Select(p => (long)Id(p)), DemoVocabulary.EosId, .. Enumerable.Repeat((long)DemoVocabulary.PadId, 16 - 10)];
        Assert.Equal(expected, tokens.InputIds);
        Assert.Equal([.. Enumerable.Repeat(1L, 10), .. Enumerable.Repeat(0L, 6)], tokens.AttentionMask);
    }

    [Fact]
    public void Unknown_words_are_spelled_with_letters_and_unknown_characters_map_to_unk()
    {
        var t5 = T5SentencePieceTokenizer.Load(TokenizerDir);
        Assert.Equal((DemoVocabulary.EosId, DemoVocabulary.PadId, DemoVocabulary.UnkId), (t5.EosId, t5.PadId, t5.UnknownId));
        // "zebras" is not a word piece: spelled out, its last letter taken as the suffix piece "s".
        Assert.Equal(new[] { Id("\u2581z"), Id("e"), Id("b"), Id("r"), Id("a"), Id("s") }, t5.EncodeToIds("zebras"));
        Assert.Equal(new[] { Id("\u2581cat"), Id("s") }, t5.EncodeToIds("cats"));
        Assert.Equal(new[] { Id("\u2581the"), Id("\u2581cat") }, t5.EncodeToIds("the  cat")); // extra whitespace removed
        Assert.Contains(DemoVocabulary.UnkId, t5.EncodeToIds("a \u00e9t\u00e9"));
        // The special pieces of tokenizer_config.json are matched in the text, as Hugging Face does.
        Assert.Equal(new[] { Id("\u2581cat"), DemoVocabulary.EosId }, t5.EncodeToIds("cat</s>"));
    }
}
