using VisualGen.Checkpoints;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers;
using VisualGen.Tokenizers.Flux;
using VisualGen.Tokenizers.QwenImage;
using VisualGen.Tokenizers.Wan;

namespace VisualGen.Tests.Tokenizers;

/// <summary>Edge cases checked against ids derived from the goldens and from the checkpoints' own special-token ids.</summary>
public class PromptTokenizerEdgeCaseTests
{
    static string Folder(string family, string tokenizer = "tokenizer") => Path.Combine(Fixtures.Checkpoint(family), tokenizer);

    [ConformanceFact]
    public void WanCleaningUndoesEntitiesAndWhitespaceRuns()
    {
        const string family = "wan21_t2v";
        var tokenizer = WanPromptTokenizer.Load(Folder(family), TokenizerGoldens.CallInt(family, "max_sequence_length"));
        // "&amp;nbsp;" unescapes twice to U+00A0, which the whitespace collapse turns into one space.
        string messy = "\t A red&amp;nbsp;fox \n runs   across a snowy field at dawn.\u001c ";
        Assert.Equal(TokenizerGoldens.CallString(family, "prompt"), tokenizer.Clean(messy));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(family, "tokenizer.prompt.input_ids"),
            TokenizerGoldens.Ids(family, "tokenizer.prompt.attention_mask"), tokenizer.Tokenize(messy), "cleaned prompt");
    }

    [ConformanceFact]
    public void WanTruncationKeepsEos()
    {
        const string family = "wan22_t2v_a14b";
        var golden = TokenizerGoldens.Ids(family, "tokenizer.negative.input_ids");   // "low quality, blurry": 9 tokens + EOS, then padding
        var tokenizer = WanPromptTokenizer.Load(Folder(family), 5);
        var t = tokenizer.Tokenize(TokenizerGoldens.CallString(family, "negative_prompt"));
        Assert.Equal(golden[..4].Append(tokenizer.Tokenizer.EosId), t.InputIds);
        Assert.Equal(new long[] { 1, 1, 1, 1, 1 }, t.AttentionMask);
    }

    [ConformanceFact]
    public void WanEmptyNegativePromptIsEosThenPadding()
    {
        var tokenizer = WanPromptTokenizer.Load(Folder("wan21_t2v"), 6);
        Assert.Equal(1, tokenizer.Tokenizer.EosId);   // spiece.model: <pad> = 0, </s> = 1 (T5's layout)
        Assert.Equal(0, tokenizer.Tokenizer.PadId);
        foreach (var empty in new[] { "", null, "   ", "&#32;" })
        {
            var t = tokenizer.Tokenize(empty);
            Assert.Equal(new long[] { 1, 0, 0, 0, 0, 0 }, t.InputIds);
            Assert.Equal(new long[] { 1, 0, 0, 0, 0, 0 }, t.AttentionMask);
        }
    }

    [ConformanceFact]
    public void WanLongerMaxLengthPadsTheSameTokens()
    {
        const string family = "wan21_t2v";
        var golden = TokenizerGoldens.Ids(family, "tokenizer.negative.input_ids");
        int used = (int)TokenizerGoldens.Ids(family, "tokenizer.negative.attention_mask").Sum();
        var t = WanPromptTokenizer.Load(Folder(family), 16).WithMaxSequenceLength(40).Tokenize(TokenizerGoldens.CallString(family, "negative_prompt"));
        Assert.Equal(40, t.Length);
        Assert.Equal(golden[..used], t.InputIds[..used]);
        Assert.All(t.InputIds[used..], id => Assert.Equal(0, id));
        Assert.Equal(used, t.TokenCount);
    }

    [ConformanceFact]
    public void FluxT5CollapsesSpacesLikeHuggingFace()
    {
        // HF's WhitespaceSplit and SentencePiece's remove_extra_whitespaces both drop runs of spaces.
        var t5 = FluxT5PromptTokenizer.Load(Folder("flux1", "tokenizer_2"), TokenizerGoldens.CallInt("flux1", "max_sequence_length"));
        string spaced = "  " + TokenizerGoldens.CallString("flux1", "prompt")!.Replace(" ", "   ") + " ";
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids("flux1", "tokenizer_2.prompt.input_ids"), null, t5.Tokenize(spaced), "spaced T5 prompt");
    }

    [ConformanceFact]
    public void T5FusesRunsOfUnknownCharactersIntoOneUnk()
    {
        // Ids from Hugging Face (the fixture's tokenizer.json) and from SentencePiece on spiece.model, which agree:
        // "東京の夜景", "$100" and "50%" are each one <unk> (2) after "▁" (3), not one <unk> per character.
        const string prompt = "A 東京の夜景 costs $100, 50% off.";
        long[] expected = [13, 3, 2, 10, 199, 44, 4, 3, 2, 7, 3, 2, 52, 19, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        var wan = WanPromptTokenizer.Load(Folder("wan21_t2v"), 24).Tokenize(prompt);
        Assert.Equal(expected, wan.InputIds);
        Assert.Equal(16, wan.TokenCount);
        Assert.Equal(expected, FluxT5PromptTokenizer.Load(Folder("flux1", "tokenizer_2"), 24).Tokenize(prompt).InputIds);

        // "<unk>" written in the prompt is an added token: it stays separate from the unknown characters around it.
        var t5 = FluxT5PromptTokenizer.Load(Folder("flux1", "tokenizer_2"), 16);
        Assert.Equal(new long[] { 3, 2, 2, 2, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, t5.Tokenize("東京<unk><unk>東").InputIds);
    }

    [ConformanceFact]
    public void ClipLowercasesAndCollapsesWhitespace()
    {
        var clip = ClipPromptTokenizer.Load(Folder("flux1"));
        string shouted = TokenizerGoldens.CallString("flux1", "prompt")!.ToUpperInvariant().Replace(" ", " \t\n ");
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids("flux1", "tokenizer.prompt.input_ids"), null, clip.Tokenize(shouted), "upper-case CLIP prompt");
    }

    [ConformanceFact]
    public void ClipTruncationKeepsBosAndEos()
    {
        var clip = ClipPromptTokenizer.Load(Folder("flux1"));
        var golden = TokenizerGoldens.Ids("flux1", "tokenizer.prompt.input_ids");
        int content = Array.IndexOf(golden, (long)clip.Tokenizer.EosId) - 1;          // ids between BOS and the first EOS
        string prompt = TokenizerGoldens.CallString("flux1", "prompt")!;
        var t = clip.Tokenize(string.Join(" ", Enumerable.Repeat(prompt, 10)));
        Assert.Equal(77, t.Length);
        Assert.All(t.AttentionMask, m => Assert.Equal(1, m));
        Assert.Equal(clip.Tokenizer.BosId, t.InputIds[0]);
        Assert.Equal(clip.Tokenizer.EosId, t.InputIds[76]);
        Assert.Equal(golden[1..(1 + content)], t.InputIds[1..(1 + content)]);   // the first repetition is the golden's text
    }

    [ConformanceFact]
    public void ClipEmptyPromptIsBosEosThenPadding()
    {
        var clip = ClipPromptTokenizer.Load(Folder("flux1"));
        Assert.Equal((636, 637, 637), (clip.Tokenizer.BosId, clip.Tokenizer.EosId, clip.Tokenizer.PadId));   // tokenizer_config.json
        var t = clip.Tokenize("");
        Assert.Equal(new long[] { 636, 637 }.Concat(Enumerable.Repeat(637L, 75)), t.InputIds);
        Assert.Equal(new long[] { 1, 1 }.Concat(Enumerable.Repeat(0L, 75)), t.AttentionMask);
    }

    [ConformanceFact]
    public void QwenTemplateSpecialTokensAndTruncation()
    {
        var qwen = QwenImagePromptTokenizer.Load(Folder("qwenimage"));
        var golden = TokenizerGoldens.Ids("qwenimage", "tokenizer.prompt.input_ids");
        Assert.Equal(412, qwen.Tokenizer.AddedTokenId("<|im_start|>"));   // tokenizer_config.json added_tokens_decoder
        Assert.Equal(413, qwen.Tokenizer.AddedTokenId("<|im_end|>"));
        Assert.Equal(412, golden[0]);

        // Special tokens written in a prompt are special tokens (split_special_tokens=False).
        Assert.Equal(new[] { 413 }, qwen.Tokenizer.EncodeToIds("<|im_end|>"));

        // A prompt far past 1024 tokens is cut at 1024 + 34 without padding; the cut keeps the template's start.
        string prompt = TokenizerGoldens.CallString("qwenimage", "prompt")!;
        var t = qwen.Tokenize(string.Join(" ", Enumerable.Repeat(prompt, 200)));
        Assert.Equal(QwenImagePromptTokenizer.MaxLength, t.Length);
        Assert.All(t.AttentionMask, m => Assert.Equal(1, m));
        int prefix = golden.Length - 12;   // the golden's ids before the end of the prompt's text
        Assert.Equal(golden[..prefix], t.InputIds[..prefix]);
    }

    [Fact]
    public void MissingFilesAreErrorsNamingThePath()
    {
        string dir = Fixtures.TempDir("tok");
        try
        {
            var e1 = Assert.Throws<CheckpointException>(() => WanPromptTokenizer.Load(dir));
            Assert.Contains(Path.Combine(dir, "spiece.model"), e1.Message);
            File.WriteAllText(Path.Combine(dir, "vocab.json"), "{}");
            var e2 = Assert.Throws<CheckpointException>(() => ClipPromptTokenizer.Load(dir));
            Assert.Contains(Path.Combine(dir, "merges.txt"), e2.Message);
            var e3 = Assert.Throws<CheckpointException>(() => QwenImagePromptTokenizer.Load(Path.Combine(dir, "absent")));
            Assert.Contains(Path.Combine(dir, "absent"), e3.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void CorruptSentencePieceModelIsAnErrorNamingTheFile()
    {
        string dir = Fixtures.TempDir("tok");
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "spiece.model"), [0x12, 0x7f, 0x01]);
            File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), "{}");
            var e = Assert.Throws<CheckpointException>(() => T5SentencePieceTokenizer.Load(dir));
            Assert.Contains(Path.Combine(dir, "spiece.model"), e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

public class T5AddedTokenTests
{
    [ConformanceFact]
    public void AddedTokensInTheTextAreSingleIds()
    {
        // Hugging Face splits added tokens out first and gives each remaining segment its own "▁" prefix,
        // so "a</s>b" is encode("a") + [</s>] + encode("b"); <extra_id_0> is id 200 in tokenizer_config.json.
        var t5 = T5SentencePieceTokenizer.Load(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "tokenizer"));
        var a = t5.EncodeToIds("a");
        var b = t5.EncodeToIds("b");
        Assert.Equal(a.Append(t5.EosId).Concat(b), t5.EncodeToIds("a</s>b"));
        Assert.Equal(a.Append(t5.EosId).Concat(b), t5.EncodeToIds("a </s> b"));
        Assert.Equal(a.Append(200), t5.EncodeToIds("a<extra_id_0>"));
    }
}
