using VisualGen.Checkpoints;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers.Flux2;

namespace VisualGen.Tests.Tokenizers;

public class Flux2PromptTokenizerConformanceTests
{
    const string Family = "flux2";
    static string Folder => Path.Combine(Fixtures.Checkpoint(Family), "tokenizer");

    [ConformanceFact]
    public void Prompt_matches_goldens()
    {
        var tokenizer = Flux2PromptTokenizer.Load(Folder, TokenizerGoldens.CallInt(Family, "max_sequence_length"));
        var prompt = tokenizer.Tokenize(TokenizerGoldens.CallString(Family, "prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(Family, "tokenizer.prompt.input_ids"),
            TokenizerGoldens.Ids(Family, "tokenizer.prompt.attention_mask"), prompt, "flux2 prompt");
        Assert.Equal(0, prompt.TruncatedTokenCount);
    }

    [ConformanceFact]
    public void Truncation_keeps_the_first_max_sequence_length_tokens_and_img_markers_are_removed()
    {
        var expected = TokenizerGoldens.Ids(Family, "tokenizer.prompt.input_ids");
        int real = (int)TokenizerGoldens.Ids(Family, "tokenizer.prompt.attention_mask").Sum();
        var tokenizer = Flux2PromptTokenizer.Load(Folder).WithMaxSequenceLength(40);
        string prompt = TokenizerGoldens.CallString(Family, "prompt")!;
        var cut = tokenizer.Tokenize(prompt);
        Assert.Equal(expected.Take(40), cut.InputIds);
        Assert.All(cut.AttentionMask, m => Assert.Equal(1, m));
        Assert.Equal(real - 40, cut.TruncatedTokenCount);
        // format_input drops "[IMG]" from prompts before templating
        Assert.Equal(cut.InputIds, tokenizer.Tokenize(prompt.Replace("quiet", "qu[IMG]iet")).InputIds);
        Assert.StartsWith("<s>[SYSTEM_PROMPT]You are an AI", tokenizer.Format("x"));
        Assert.EndsWith("[/SYSTEM_PROMPT][INST]x[/INST]", tokenizer.Format("x"));
    }

    [ConformanceFact]
    public void A_tokenizer_folder_without_chat_template_is_refused()
    {
        string dir = Fixtures.TempDir("flux2-tok");
        try
        {
            foreach (var f in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(Folder, f), Path.Combine(dir, f));
            var e = Assert.Throws<CheckpointException>(() => Flux2PromptTokenizer.Load(dir));
            Assert.Contains("chat template", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
