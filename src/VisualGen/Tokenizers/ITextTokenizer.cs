namespace VisualGen.Tokenizers;

/// <summary>
/// A checkpoint's tokenizer model: text to token ids with no special tokens, no truncation and no
/// padding (those are the pipeline's rules, applied by an <see cref="IPromptTokenizer"/>).
/// </summary>
public interface ITextTokenizer
{
    /// <summary>Ids of <paramref name="text"/>, special tokens written in the text included where the tokenizer knows them.</summary>
    IReadOnlyList<int> EncodeToIds(string text);
}
