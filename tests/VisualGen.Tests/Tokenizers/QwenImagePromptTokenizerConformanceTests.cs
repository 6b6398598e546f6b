using VisualGen.Tests.Support;
using VisualGen.Tokenizers.QwenImage;

namespace VisualGen.Tests.Tokenizers;

public class QwenImagePromptTokenizerConformanceTests
{
    const string Family = "qwenimage";

    [ConformanceFact]
    public void PromptAndNegativeMatchGoldens()
    {
        var tokenizer = QwenImagePromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(Family), "tokenizer"));

        var prompt = tokenizer.Tokenize(TokenizerGoldens.CallString(Family, "prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(Family, "tokenizer.prompt.input_ids"),
            TokenizerGoldens.Ids(Family, "tokenizer.prompt.attention_mask"), prompt, "qwenimage prompt");

        var negative = tokenizer.Tokenize(TokenizerGoldens.CallString(Family, "negative_prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(Family, "tokenizer.negative.input_ids"),
            TokenizerGoldens.Ids(Family, "tokenizer.negative.attention_mask"), negative, "qwenimage negative");
    }
}
