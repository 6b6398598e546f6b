using VisualGen.Checkpoints;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers;

namespace VisualGen.Tests.Cli;

/// <summary>A prompt longer than a text encoder takes is cut as diffusers cuts it, and the CLI warns on stderr (diffusers
/// logs "The following part of your input was truncated ..."); a prompt that fits gets no warning.</summary>
public class CliPromptTruncationTests
{
    const string LongPrompt = "a red fox runs across a snowy field at dawn, its breath steaming in the cold air";

    [Fact]
    public void Token_sequence_counts_the_tokens_it_cuts()
    {
        Assert.Equal(0, TokenSequence.Build([5, 6, 7], bos: null, eos: 1, maxLength: 4, padId: 0, padToMaxLength: true).TruncatedTokenCount);
        var cut = TokenSequence.Build([5, 6, 7, 8, 9], bos: 2, eos: 1, maxLength: 4, padId: 0, padToMaxLength: true);
        Assert.Equal([2L, 5, 6, 1], cut.InputIds);
        Assert.Equal(3, cut.TruncatedTokenCount);
    }

    [ConformanceFact]
    public void Wan_cut_is_the_tokens_past_max_sequence_length()
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint("wan21_t2v"));
        var tokenizer = VisualGen.Tokenizers.Wan.WanPromptTokenizer.Load(index.ComponentDirectory("tokenizer"));
        int contentTokens = tokenizer.Tokenizer.EncodeToIds(tokenizer.Clean(LongPrompt)).Count;
        var cut = Assert.Single(PromptTruncation.Check(index, LongPrompt, maxSequenceLength: 8));
        Assert.Equal(("text_encoder", "max_sequence_length", 8), (cut.Encoder, cut.LimitName, cut.Limit));
        Assert.Equal(contentTokens - 7, cut.DroppedTokens);   // 7 content tokens + EOS fit in 8
        Assert.Empty(PromptTruncation.Check(index, LongPrompt, maxSequenceLength: null));
    }

    [ConformanceFact]
    public void Flux_clip_cut_at_77_tokens_is_reported_with_t5_fitting()
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint("flux1"));
        string prompt = string.Concat(Enumerable.Repeat("a red fox ", 40));
        var cut = Assert.Single(PromptTruncation.Check(index, prompt, maxSequenceLength: 512));
        Assert.Equal("text_encoder (CLIP)", cut.Encoder);
        Assert.Equal(77, cut.Limit);
        Assert.True(cut.DroppedTokens > 0);
    }

    [ConformanceFact]
    public void Flux2_cut_counts_the_chat_formatted_prompt()
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint("flux2"));
        var tokenizer = VisualGen.Tokenizers.Flux2.Flux2PromptTokenizer.Load(index.ComponentDirectory("tokenizer"));
        int total = tokenizer.Tokenize(LongPrompt).TokenCount;   // system message, prompt and the template's tokens
        var cut = Assert.Single(PromptTruncation.Check(index, LongPrompt, maxSequenceLength: 64));
        Assert.Equal(("text_encoder", "max_sequence_length", 64), (cut.Encoder, cut.LimitName, cut.Limit));
        Assert.Equal(total - 64, cut.DroppedTokens);
        Assert.Empty(PromptTruncation.Check(index, LongPrompt, maxSequenceLength: null));
    }

    [ConformanceFact]
    public void Cli_warns_on_stderr_when_the_prompt_is_cut()
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", LongPrompt, "--max-sequence-length", "8",
            "--height", "32", "--width", "48", "--frames", "5", "--steps", "1", "--engine-cache", ConformancePipelines.CacheDir,
            "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o")]);
        Assert.True(run.Rc == 0, run.Err);
        Assert.Contains("warning: the prompt is cut to 8 tokens (max_sequence_length) for text_encoder: its last ", run.Err);
        Assert.Contains("raise --max-sequence-length or shorten it", run.Err);
        Assert.DoesNotContain("warning:", run.Out);
    }

    [ConformanceFact]
    public void Cli_does_not_warn_when_the_prompt_fits()
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox", "--max-sequence-length", "8",
            "--height", "32", "--width", "48", "--frames", "5", "--steps", "1", "--engine-cache", ConformancePipelines.CacheDir,
            "--format", "png", "--output", Path.Combine(Fixtures.TempDir("out"), "o")]);
        Assert.True(run.Rc == 0, run.Err);
        Assert.DoesNotContain("warning:", run.Err);
    }
}
