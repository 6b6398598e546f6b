namespace VisualGen.Tokenizers.Flux;

/// <summary>
/// CLIP prompt tokenization as FLUX (and every CLIP-conditioned pipeline) calls it: BOS + text + EOS,
/// padding="max_length" and truncation at the tokenizer's model_max_length (77), EOS kept on
/// truncation, padded with the pad token (FLUX's CLIP pads with &lt;|endoftext|&gt;).
/// </summary>
public sealed class ClipPromptTokenizer : IPromptTokenizer
{
    public ClipBpeTokenizer Tokenizer { get; }
    public int MaxLength => Tokenizer.ModelMaxLength;

    public ClipPromptTokenizer(ClipBpeTokenizer tokenizer) { Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer)); }

    /// <summary>Loads the checkpoint's <c>tokenizer/</c> folder (vocab.json, merges.txt, tokenizer_config.json).</summary>
    public static ClipPromptTokenizer Load(string tokenizerFolder) => new(ClipBpeTokenizer.Load(tokenizerFolder));

    public TokenizedText Tokenize(string? prompt) =>
        TokenSequence.Build(Tokenizer.EncodeToIds(prompt ?? ""), Tokenizer.BosId, Tokenizer.EosId, MaxLength, Tokenizer.PadId, padToMaxLength: true);
}
