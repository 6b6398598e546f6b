using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers;

/// <summary>
/// The T5/UMT5 tokenizer: SentencePiece (Unigram) from a checkpoint's spiece.model, through
/// Microsoft.ML.Tokenizers. Encodes without special tokens; <see cref="EosId"/> and <see cref="PadId"/>
/// come from the model (T5 has no BOS). The added tokens of tokenizer_config.json (<c>&lt;pad&gt;</c>,
/// <c>&lt;/s&gt;</c>, <c>&lt;unk&gt;</c>, <c>&lt;extra_id_N&gt;</c>) are matched in the text as Hugging Face
/// matches them; plain SentencePiece would spell "&lt;/s&gt;" out piece by piece.
/// </summary>
/// <remarks>
/// SentencePiece applies the model's own normalizer (nmt_nfkc for T5/UMT5), as the real checkpoints'
/// tokenizer.json does with its precompiled charsmap. ASCII text is unaffected by it.
/// </remarks>
public sealed class T5SentencePieceTokenizer : ITextTokenizer
{
    public const string ModelFileName = "spiece.model";

    readonly SentencePieceTokenizer _tokenizer;

    public int EosId { get; }
    public int PadId { get; }
    public int UnknownId { get; }

    T5SentencePieceTokenizer(SentencePieceTokenizer tokenizer, int eosId, int padId, int unknownId)
    {
        _tokenizer = tokenizer; EosId = eosId; PadId = padId; UnknownId = unknownId;
    }

    /// <summary>Loads <c>spiece.model</c> and the added tokens of <c>tokenizer_config.json</c> from a checkpoint's tokenizer folder.</summary>
    public static T5SentencePieceTokenizer Load(string folder)
    {
        string modelPath = TokenizerFiles.Require(folder, ModelFileName);
        string configPath = TokenizerFiles.Require(folder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(folder);
        return LoadModel(modelPath, TokenizerFiles.AddedTokens(config.RootElement, configPath));
    }

    /// <summary>Loads a SentencePiece model file, with optional added tokens (content → id) matched in the text.</summary>
    public static T5SentencePieceTokenizer LoadModel(string modelPath, IReadOnlyDictionary<string, int>? addedTokens = null)
    {
        if (!File.Exists(modelPath)) throw new CheckpointException(modelPath, "SentencePiece model not found");
        byte[] bytes = SentencePieceModelPatch.WithBosIdDefined(File.ReadAllBytes(modelPath), modelPath);
        SentencePieceTokenizer tokenizer;
        try
        {
            using var stream = new MemoryStream(bytes, writable: false);
            tokenizer = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: true,
                addedTokens is { Count: > 0 } ? addedTokens : null);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(modelPath, $"cannot load the SentencePiece model ({e.GetType().Name}: {e.Message})", e);
        }
        if (tokenizer.EndOfSentenceId < 0) throw new CheckpointException(modelPath, "the model has no EOS piece (T5 needs '</s>')");
        // T5's pad id lives in trainer_spec.pad_id (0 for T5/UMT5): read it through the vocabulary.
        int padId = tokenizer.Vocabulary.TryGetValue("<pad>", out int p) ? p
            : throw new CheckpointException(modelPath, "the model has no '<pad>' piece (T5 pads with it)");
        return new T5SentencePieceTokenizer(tokenizer, tokenizer.EndOfSentenceId, padId, tokenizer.UnknownId);
    }

    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        // SentencePiece and Hugging Face's Unigram fuse a run of unknown characters into one <unk>;
        // Microsoft.ML.Tokenizers gives one <unk> per character. A "<unk>" written in the text is an added
        // token, matched before the model, and is never fused with its neighbours.
        var tokens = _tokenizer.EncodeToTokens(text, out _, addBeginningOfSentence: false, addEndOfSentence: false);
        var ids = new List<int>(tokens.Count);
        bool previousUnknown = false;
        foreach (var token in tokens)
        {
            bool unknown = token.Id == UnknownId && token.Value != _tokenizer.UnknownToken;
            if (!(unknown && previousUnknown)) ids.Add(token.Id);
            previousUnknown = unknown;
        }
        return ids;
    }
}
