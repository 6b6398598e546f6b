namespace VisualGen.Tokenizers.Flux;

/// <summary>
/// FLUX's T5 prompt tokenization (<c>tokenizer_2</c>): the raw prompt (no cleaning), padding="max_length",
/// max_length=max_sequence_length, truncation=True, EOS appended (kept on truncation). FLUX attends to
/// the padding (no mask is passed to T5); the mask is returned for completeness.
/// </summary>
public sealed class FluxT5PromptTokenizer : IPromptTokenizer
{
    /// <summary>diffusers' default <c>max_sequence_length</c> for FluxPipeline.</summary>
    public const int DefaultMaxSequenceLength = 512;

    public T5SentencePieceTokenizer Tokenizer { get; }
    public int MaxSequenceLength { get; }

    public FluxT5PromptTokenizer(T5SentencePieceTokenizer tokenizer, int maxSequenceLength = DefaultMaxSequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>Loads the checkpoint's <c>tokenizer_2/</c> folder (spiece.model).</summary>
    public static FluxT5PromptTokenizer Load(string tokenizerFolder, int maxSequenceLength = DefaultMaxSequenceLength) =>
        new(T5SentencePieceTokenizer.Load(tokenizerFolder), maxSequenceLength);

    public FluxT5PromptTokenizer WithMaxSequenceLength(int maxSequenceLength) => new(Tokenizer, maxSequenceLength);

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(Tokenizer.EncodeToIds(prompt ?? ""), bos: null, eos: Tokenizer.EosId,
            MaxSequenceLength, Tokenizer.PadId, padToMaxLength: true);
}
