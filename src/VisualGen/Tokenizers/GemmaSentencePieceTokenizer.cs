using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers;

/// <summary>
/// The Gemma tokenizer: SentencePiece (BPE with byte fallback) from a checkpoint's tokenizer.model, through
/// Microsoft.ML.Tokenizers. Encodes without special tokens; <see cref="BosId"/> and <see cref="PadId"/> come from
/// the model's pieces (<c>&lt;bos&gt;</c>, <c>&lt;pad&gt;</c>). The added tokens of tokenizer_config.json are matched
/// in the text as Hugging Face matches them. Microsoft.ML.Tokenizers loads the model and normalizes each segment between
/// added tokens; the BPE merges are <see cref="SentencePieceBpe"/>'s (its own merge the rightmost of equal pairs).
/// </summary>
public sealed class GemmaSentencePieceTokenizer : ITextTokenizer
{
    public const string ModelFileName = "tokenizer.model";

    readonly SentencePieceTokenizer _tokenizer;
    readonly SentencePieceBpe _bpe;
    readonly AddedTokenSplit _addedSplit;

    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }

    GemmaSentencePieceTokenizer(SentencePieceTokenizer tokenizer, SentencePieceBpe bpe, Dictionary<string, int> added, int bosId, int eosId, int padId)
    {
        _tokenizer = tokenizer; _bpe = bpe; _addedSplit = new AddedTokenSplit(added); BosId = bosId; EosId = eosId; PadId = padId;
    }

    /// <summary>Loads <c>tokenizer.model</c> and the added tokens of <c>tokenizer_config.json</c> from a checkpoint's tokenizer folder.</summary>
    public static GemmaSentencePieceTokenizer Load(string folder)
    {
        string modelPath = TokenizerFiles.Require(folder, ModelFileName);
        string configPath = TokenizerFiles.Require(folder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(folder);
        var added = TokenizerFiles.AddedTokens(config.RootElement, configPath);
        SentencePieceTokenizer tokenizer;
        SentencePieceBpe bpe;
        try
        {
            byte[] bytes = File.ReadAllBytes(modelPath);
            using var stream = new MemoryStream(bytes, writable: false);
            tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false,
                added.Count > 0 ? added : null);
            bpe = new SentencePieceBpe(SentencePieceModelPatch.Pieces(bytes, modelPath), tokenizer.UnknownId);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(modelPath, $"cannot load the SentencePiece model ({e.GetType().Name}: {e.Message})", e);
        }
        int Piece(string name) => tokenizer.Vocabulary.TryGetValue(name, out int id) ? id
            : throw new CheckpointException(modelPath, $"the model has no '{name}' piece (Gemma needs it)");
        // pad_token of tokenizer_config.json; the pipeline falls back to EOS where a tokenizer has none.
        string padToken = TokenizerFiles.TokenString(config.RootElement, "pad_token") ?? "<eos>";
        return new GemmaSentencePieceTokenizer(tokenizer, bpe, added, Piece("<bos>"), Piece("<eos>"), Piece(padToken));
    }

    public IReadOnlyList<int> EncodeToIds(string text) => _addedSplit.Encode(text, EncodeSegment);

    void EncodeSegment(string segment, List<int> ids)
    {
        if (segment.Length == 0) return;
        _bpe.Encode(_tokenizer.Normalizer?.Normalize(segment) ?? segment, ids);
    }
}
