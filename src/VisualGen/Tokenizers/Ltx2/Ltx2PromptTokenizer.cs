using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers.Ltx2;

/// <summary>
/// LTX-2's prompt tokenization (diffusers' LTX2Pipeline._get_gemma_prompt_embeds): the prompt stripped of
/// surrounding whitespace (Python's str.strip, which also strips U+001C..U+001F), the Gemma tokenizer with
/// padding="max_length", max_length=max_sequence_length, truncation=True, add_special_tokens=True (BOS first, kept on
/// truncation) and padding_side="left".
/// </summary>
public sealed class Ltx2PromptTokenizer : IPromptTokenizer
{
    /// <summary>diffusers' default <c>max_sequence_length</c> for LTX-2.</summary>
    public const int DefaultMaxSequenceLength = 1024;

    public GemmaSentencePieceTokenizer Tokenizer { get; }
    public int MaxSequenceLength { get; }

    public Ltx2PromptTokenizer(GemmaSentencePieceTokenizer tokenizer, int maxSequenceLength = DefaultMaxSequenceLength)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSequenceLength, 1);
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        MaxSequenceLength = maxSequenceLength;
    }

    /// <summary>Loads the checkpoint's <c>tokenizer/</c> folder (tokenizer.model, tokenizer_config.json).</summary>
    public static Ltx2PromptTokenizer Load(string tokenizerFolder, int maxSequenceLength = DefaultMaxSequenceLength) =>
        new(GemmaSentencePieceTokenizer.Load(tokenizerFolder), maxSequenceLength);

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(Tokenizer.EncodeToIds(PythonWhitespace.Strip(prompt ?? "")), bos: Tokenizer.BosId, eos: null,
            MaxSequenceLength, Tokenizer.PadId, padToMaxLength: true, padLeft: true);
}
