using VisualGen.Tokenizers;
using VisualGen.Tokenizers.Cosmos3;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Tokenizers;

/// <summary>Cosmos3's prompt templates and its Qwen2 tokenizer read from tokenizer.json alone: the chat text of the
/// conformance call, written out here by hand from diffusers' tokenize_prompt and the checkpoint's chat template,
/// tokenizes to the golden ids (without the appended EOS and &lt;|vision_start|&gt;).</summary>
public class Cosmos3PromptTemplateTests
{
    const string Prompt = "An old train crosses a stone bridge in the autumn forest.";

    [Fact]
    public void Templates_append_duration_and_resolution_and_their_inverses()
    {
        Assert.Equal("An old train crosses a stone bridge in the autumn forest. The video is 0.4 seconds long and is of 24 FPS. This video is of 64x96 resolution.",
            Cosmos3PromptTemplates.Apply(Prompt, false, 9, 64, 96, 24.0));
        Assert.Equal("blurry, low quality. The video is not 0.4 seconds long and is not of 24 FPS. This video is not of 64x96 resolution.",
            Cosmos3PromptTemplates.Apply("blurry, low quality", true, 9, 64, 96, 24.0));
        // images: no duration; an empty (negative) prompt is the template alone; trailing periods are stripped
        Assert.Equal("This image is not of 48x32 resolution.", Cosmos3PromptTemplates.Apply("", true, 1, 48, 32, 24.0));
        Assert.Equal("a cat. This image is of 16x16 resolution.", Cosmos3PromptTemplates.Apply("a cat...", false, 1, 16, 16, 24.0));
        Assert.Equal("x. The video is 1.5 seconds long and is of 16 FPS. This video is of 32x32 resolution.",
            Cosmos3PromptTemplates.Apply("x", false, 24, 32, 32, 16.0));
    }

    [ConformanceTheory]
    [InlineData("cosmos3_t2v", "videos", "The video is 0.4 seconds long and is of 24 FPS. This video is of 64x96 resolution.",
        "The video is not 0.4 seconds long and is not of 24 FPS. This video is not of 64x96 resolution.")]
    [InlineData("cosmos3_t2i", "images", "This image is of 64x96 resolution.", "This image is not of 64x96 resolution.")]
    public void Chat_text_tokenizes_to_the_golden_ids(string family, string kind, string promptTemplates, string negativeTemplates)
    {
        var bpe = Qwen2BpeTokenizer.Load(Path.Combine(Fixtures.Checkpoint(family), "text_tokenizer"));
        using var golden = Fixtures.Golden(family);
        string Chat(string user) =>
            $"<|im_start|>system\nYou are a helpful assistant who will generate {kind} from a give prompt.<|im_end|><|im_start|>user\n{user}<|im_end|><|im_start|>assistant";
        foreach (var (name, text) in new[] { ("prompt", $"An old train crosses a stone bridge in the autumn forest. {promptTemplates}"),
                                             ("negative", $"blurry, low quality. {negativeTemplates}") })
        {
            var expected = golden.ReadInt64($"tokenizer.{name}.input_ids");
            Assert.Equal(expected[..^2].Select(i => (int)i), bpe.EncodeToIds(Chat(text)));
            Assert.Equal([bpe.AddedTokenId("<|im_end|>"), bpe.AddedTokenId("<|vision_start|>")], expected[^2..].Select(i => (int)i));
        }
    }

    [ConformanceTheory]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void Prompt_tokenizer_gives_the_golden_ids(string family)
    {
        using var golden = Fixtures.Golden(family);
        var request = VisualGen.Tests.Pipelines.ConformancePipelines.RequestFromGolden(family, golden);
        var tokenizer = Cosmos3PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint(family), "text_tokenizer"), useSystemPrompt: true);
        var (prompt, negative) = tokenizer.Tokenize(request.Prompt, request.NegativePrompt, request.NumFrames!.Value, request.Height!.Value,
            request.Width!.Value, request.Fps!.Value);
        Assert.Equal(golden.ReadInt64("tokenizer.prompt.input_ids").Select(i => (int)i), prompt);
        Assert.Equal(golden.ReadInt64("tokenizer.negative.input_ids").Select(i => (int)i), negative);
    }

    [ConformanceFact]
    public void Without_the_system_prompt_only_the_user_turn_is_rendered()
    {
        var tokenizer = Cosmos3PromptTokenizer.Load(Path.Combine(Fixtures.Checkpoint("cosmos3_t2i"), "text_tokenizer"), useSystemPrompt: false);
        Assert.Equal("<|im_start|>user\na cat<|im_end|><|im_start|>assistant", tokenizer.Render("a cat", 1));
        var (prompt, negative) = tokenizer.Tokenize("a cat", null, 1, 32, 48, 24);
        Assert.Equal([tokenizer.EosId, tokenizer.VisionStartId], prompt.TakeLast(2));
        Assert.Equal([tokenizer.EosId, tokenizer.VisionStartId], negative.TakeLast(2));
        Assert.NotEqual(prompt, negative);
    }
}
