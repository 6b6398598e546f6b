using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers.Wan;

/// <summary>
/// Prompt tokenization of diffusers' Wan pipelines (WanPipeline, WanImageToVideoPipeline, Wan 2.2):
/// <c>prompt_clean</c>, then the UMT5 tokenizer with padding="max_length",
/// max_length=max_sequence_length, truncation=True, add_special_tokens=True (EOS appended, kept on
/// truncation) and the attention mask.
/// </summary>
public sealed class WanPromptTokenizer : IPromptTokenizer
{
    /// <summary>diffusers' default <c>max_sequence_length</c> for Wan.</summary>
    public const int DefaultMaxSequenceLength = 512;

    readonly WanPromptCleaner _cleaner;

    public T5SentencePieceTokenizer Tokenizer { get; }
    public int MaxSequenceLength { get; }

    public WanPromptTokenizer(T5SentencePieceTokenizer tokenizer, WanPromptCleaner cleaner, int maxSequenceLength = DefaultMaxSequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        _cleaner = cleaner ?? throw new ArgumentNullException(nameof(cleaner));
        MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>Loads the checkpoint's <c>tokenizer/</c> folder (spiece.model).</summary>
    public static WanPromptTokenizer Load(string tokenizerFolder, int maxSequenceLength = DefaultMaxSequenceLength) =>
        new(T5SentencePieceTokenizer.Load(tokenizerFolder), new WanPromptCleaner(HtmlUnescape.Create()), maxSequenceLength);

    /// <summary>The same tokenizer for another <c>max_sequence_length</c>.</summary>
    public WanPromptTokenizer WithMaxSequenceLength(int maxSequenceLength) => new(Tokenizer, _cleaner, maxSequenceLength);

    public string Clean(string? prompt) => _cleaner.Clean(prompt ?? "");

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(Tokenizer.EncodeToIds(Clean(prompt)), bos: null, eos: Tokenizer.EosId,
            MaxSequenceLength, Tokenizer.PadId, padToMaxLength: true);
}
