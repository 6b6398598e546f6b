using VisualGen.Checkpoints;
using VisualGen.Tokenizers.Flux;
using VisualGen.Tokenizers.Flux2;
using VisualGen.Tokenizers.QwenImage;
using VisualGen.Tokenizers.Wan;

namespace VisualGen.Tokenizers;

/// <summary>Tokens of a prompt that one text encoder will not see: <paramref name="DroppedTokens"/> past
/// <paramref name="Limit"/> tokens (<paramref name="LimitName"/>: what sets it).</summary>
public sealed record PromptCut(string Encoder, string LimitName, int Limit, int DroppedTokens);

/// <summary>
/// Which prompt tokens a pipeline class cuts off, found before generating, so a caller can warn as diffusers does
/// ("The following part of your input was truncated ..."). Each entry tokenizes as that pipeline's encoders do:
/// Wan's UMT5 and FLUX's T5 at max_sequence_length, FLUX's CLIP at its 77 tokens, Qwen-Image's template at the
/// tokenizer's 1024 tokens and then max_sequence_length after the 34 dropped template tokens, FLUX.2's chat-formatted
/// prompt (system message included) at max_sequence_length.
/// </summary>
public static class PromptTruncation
{
    delegate IEnumerable<PromptCut> Rule(ModelIndex index, string prompt, int? maxSequenceLength);

    static readonly Dictionary<string, Rule> Rules = new(StringComparer.Ordinal)
    {
        ["WanPipeline"] = Wan,
        ["WanImageToVideoPipeline"] = Wan,
        ["FluxPipeline"] = Flux,
        ["FluxKontextPipeline"] = Flux,
        ["QwenImagePipeline"] = QwenImage,
        ["Flux2Pipeline"] = Flux2,
    };

    /// <summary>The cuts made to <paramref name="prompt"/> by the pipeline of <paramref name="index"/>; empty when it
    /// fits, or when the pipeline class is not one listed here.</summary>
    public static IReadOnlyList<PromptCut> Check(ModelIndex index, string prompt, int? maxSequenceLength) =>
        Rules.TryGetValue(index.ClassName, out var rule)
            ? rule(index, prompt, maxSequenceLength).Where(c => c.DroppedTokens > 0).ToList()
            : [];

    static IEnumerable<PromptCut> Wan(ModelIndex index, string prompt, int? maxSequenceLength)
    {
        var tokenizer = WanPromptTokenizer.Load(index.ComponentDirectory("tokenizer"), maxSequenceLength ?? WanPromptTokenizer.DefaultMaxSequenceLength);
        yield return new("text_encoder", "max_sequence_length", tokenizer.MaxSequenceLength, tokenizer.Tokenize(prompt).TruncatedTokenCount);
    }

    static IEnumerable<PromptCut> Flux(ModelIndex index, string prompt, int? maxSequenceLength)
    {
        var clip = ClipPromptTokenizer.Load(index.ComponentDirectory("tokenizer"));
        yield return new("text_encoder (CLIP)", "CLIP's model_max_length", clip.MaxLength, clip.Tokenize(prompt).TruncatedTokenCount);
        var t5 = FluxT5PromptTokenizer.Load(index.ComponentDirectory("tokenizer_2"), maxSequenceLength ?? FluxT5PromptTokenizer.DefaultMaxSequenceLength);
        yield return new("text_encoder_2 (T5)", "max_sequence_length", t5.MaxSequenceLength, t5.Tokenize(prompt).TruncatedTokenCount);
    }

    static IEnumerable<PromptCut> Flux2(ModelIndex index, string prompt, int? maxSequenceLength)
    {
        var tokenizer = Flux2PromptTokenizer.Load(index.ComponentDirectory("tokenizer"), maxSequenceLength ?? Flux2PromptTokenizer.DefaultMaxSequenceLength);
        // the chat template's system message counts: it is cut with the prompt
        yield return new("text_encoder", "max_sequence_length", tokenizer.MaxSequenceLength, tokenizer.Tokenize(prompt).TruncatedTokenCount);
    }

    /// <summary>diffusers' QwenImagePipeline default max_sequence_length.</summary>
    const int QwenImageDefaultMaxSequenceLength = 512;

    static IEnumerable<PromptCut> QwenImage(ModelIndex index, string prompt, int? maxSequenceLength)
    {
        int limit = maxSequenceLength ?? QwenImageDefaultMaxSequenceLength;
        var tokens = QwenImagePromptTokenizer.Load(index.ComponentDirectory("tokenizer")).Tokenize(prompt);
        int afterTemplate = tokens.TokenCount - QwenImagePromptTokenizer.DropTokenCount;
        yield return new("text_encoder", "max_sequence_length", limit, tokens.TruncatedTokenCount + Math.Max(0, afterTemplate - limit));
    }
}
