using VisualGen.Tests.Support;
using VisualGen.Tokenizers;
using VisualGen.Tokenizers.Ltx2;

namespace VisualGen.Tests.Tokenizers;

public class Ltx2PromptTokenizerConformanceTests
{
    [ConformanceFact]
    public void PromptAndNegativeMatchGoldens()
    {
        const string family = "ltx2";
        int maxLength = TokenizerGoldens.CallInt(family, "max_sequence_length");
        var tokenizer = Ltx2PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(family), "tokenizer"), maxLength);

        var prompt = tokenizer.Tokenize(TokenizerGoldens.CallString(family, "prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(family, "tokenizer.prompt.input_ids"),
            TokenizerGoldens.Ids(family, "tokenizer.prompt.attention_mask"), prompt, "ltx2 prompt");
        var negative = tokenizer.Tokenize(TokenizerGoldens.CallString(family, "negative_prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(family, "tokenizer.negative.input_ids"),
            TokenizerGoldens.Ids(family, "tokenizer.negative.attention_mask"), negative, "ltx2 negative");
        Assert.Equal(maxLength, prompt.Length);
    }

    [ConformanceFact]
    public void Prompt_is_stripped_as_python_strips_it()
    {
        // p.strip() also removes U+001C..U+001F (Python whitespace, not .NET's); ids from Hugging Face on the fixture's
        // tokenizer.json. Unstripped, each would be a byte-fallback token (<0x1C> = 37, ...).
        var tokenizer = Ltx2PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint("ltx2"), "tokenizer"), 14);
        var t = tokenizer.Tokenize("\u001c\u001d Waves crash \u001e\u001f");
        Assert.Equal([0L, 0, 0, 0, 0, 2, 399, 361, 383, 275, 271, 367, 341, 369], t.InputIds);
        Assert.Equal([0L, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1], t.AttentionMask);
    }

    [ConformanceFact]
    public void Equal_pairs_merge_leftmost_first()
    {
        // Ids from Hugging Face on the fixture's tokenizer.json; SentencePiece on tokenizer.model gives the same pieces:
        // "rosss" = "ross"+"s", "eee" = "ee"+"e" (not "e"+"ee"), "ooo" after a space = "▁o"+"oo".
        var tokenizer = Ltx2PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint("ltx2"), "tokenizer"), 20);
        var t = tokenizer.Tokenize("Grass rosss, eee and ooo!");
        Assert.Equal([0L, 0, 0, 0, 2, 80, 367, 361, 313, 359, 339, 362, 382, 359, 346, 360, 310, 274, 326, 391], t.InputIds);
        Assert.Equal(16, t.TokenCount);
        // an added token between runs: each side is merged on its own
        Assert.Equal([346, 360, 4, 346, 360], tokenizer.Tokenizer.EncodeToIds("eee<start_of_turn>eee"));
    }

    [Fact]
    public void Left_padding_puts_pad_first_and_keeps_bos_on_truncation()
    {
        var padded = TokenSequence.Build([7, 8], bos: 2, eos: null, maxLength: 5, padId: 0, padToMaxLength: true, padLeft: true);
        Assert.Equal([0L, 0, 2, 7, 8], padded.InputIds);
        Assert.Equal([0L, 0, 1, 1, 1], padded.AttentionMask);
        var cut = TokenSequence.Build([7, 8, 9, 10], bos: 2, eos: null, maxLength: 3, padId: 0, padToMaxLength: true, padLeft: true);
        Assert.Equal([2L, 7, 8], cut.InputIds);
        Assert.Equal(2, cut.TruncatedTokenCount);
    }
}
