namespace VisualGen.Tokenizers;

/// <summary>
/// A pipeline's prompt tokenization: the model family's prompt cleaning or template, special tokens,
/// truncation and padding, exactly as the diffusers pipeline calls its tokenizer.
/// </summary>
public interface IPromptTokenizer
{
    /// <summary>Tokenizes one prompt (a null or empty prompt is the empty string, as diffusers passes it).</summary>
    TokenizedText Tokenize(string? prompt);
}
