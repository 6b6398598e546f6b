using VisualGen.Tests.Support;
using VisualGen.Tokenizers.Wan;

namespace VisualGen.Tests.Tokenizers;

public class WanPromptTokenizerConformanceTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v")]
    [InlineData("wan21_t2v_euler")]
    [InlineData("wan22_t2v_a14b")]
    [InlineData("wan22_ti2v_5b")]
    [InlineData("wan21_i2v")]
    [InlineData("wan22_i2v_a14b")]
    public void PromptAndNegativeMatchGoldens(string family)
    {
        int maxLength = TokenizerGoldens.CallInt(family, "max_sequence_length");
        var tokenizer = WanPromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(family), "tokenizer"), maxLength);

        var prompt = tokenizer.Tokenize(TokenizerGoldens.CallString(family, "prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(family, "tokenizer.prompt.input_ids"),
            TokenizerGoldens.Ids(family, "tokenizer.prompt.attention_mask"), prompt, $"{family} prompt");

        var negative = tokenizer.Tokenize(TokenizerGoldens.CallString(family, "negative_prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(family, "tokenizer.negative.input_ids"),
            TokenizerGoldens.Ids(family, "tokenizer.negative.attention_mask"), negative, $"{family} negative");
        Assert.Equal(maxLength, prompt.Length);
    }
}
