using VisualGen.Tests.Support;
using VisualGen.Tokenizers.Flux;

namespace VisualGen.Tests.Tokenizers;

public class FluxPromptTokenizerConformanceTests
{
    const string Family = "flux1";

    [ConformanceFact]
    public void ClipIdsMatchGolden()
    {
        var clip = ClipPromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(Family), "tokenizer"));
        var actual = clip.Tokenize(TokenizerGoldens.CallString(Family, "prompt"));
        Assert.Equal(77, actual.Length);
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(Family, "tokenizer.prompt.input_ids"), null, actual, "flux1 CLIP");
    }

    [ConformanceFact]
    public void T5IdsMatchGolden()
    {
        int maxLength = TokenizerGoldens.CallInt(Family, "max_sequence_length");
        var t5 = FluxT5PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(Family), "tokenizer_2"), maxLength);
        var actual = t5.Tokenize(TokenizerGoldens.CallString(Family, "prompt"));
        TokenizerGoldens.AssertEqual(TokenizerGoldens.Ids(Family, "tokenizer_2.prompt.input_ids"), null, actual, "flux1 T5");
    }
}
