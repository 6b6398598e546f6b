using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;
using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers;

/// <summary>
/// Qwen2's byte-level BPE (vocab.json + merges.txt, or tokenizer.json's model.vocab and model.merges where a checkpoint
/// ships only that, as Cosmos3's text_tokenizer does) through Microsoft.ML.Tokenizers: NFC, Qwen2's split
/// pattern, and the added tokens of tokenizer_config.json's <c>added_tokens_decoder</c>
/// (<c>&lt;|im_start|&gt;</c>, <c>&lt;|im_end|&gt;</c>, …) matched in the text before splitting.
/// </summary>
public sealed class Qwen2BpeTokenizer : ITextTokenizer
{
    /// <summary>Qwen2's pre-tokenizer pattern (tokenizer.json's Split, isolated).</summary>
    public const string SplitPattern = @"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

    readonly BpeTokenizer _bpe;
    readonly Dictionary<string, int> _added;

    /// <summary>The pad id (tokenizer_config.json's <c>pad_token</c>, <c>&lt;|endoftext|&gt;</c>).</summary>
    public int PadId { get; }
    public IReadOnlyDictionary<string, int> AddedTokens => _added;

    Qwen2BpeTokenizer(BpeTokenizer bpe, Dictionary<string, int> added, int padId) { _bpe = bpe; _added = added; PadId = padId; }

    public static Qwen2BpeTokenizer Load(string folder)
    {
        string configPath = TokenizerFiles.Require(folder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(folder);
        var added = TokenizerFiles.AddedTokens(config.RootElement, configPath);
        if (added.Count == 0) throw new CheckpointException(configPath, "no 'added_tokens_decoder' (Qwen2 needs <|im_start|>, <|im_end|>, <|endoftext|>)");
        string pad = TokenizerFiles.TokenString(config.RootElement, "pad_token") ?? "<|endoftext|>";

        bool separateFiles = File.Exists(Path.Combine(folder, "vocab.json")) || !File.Exists(Path.Combine(folder, "tokenizer.json"));
        string source = separateFiles ? "vocab.json + merges.txt" : "tokenizer.json";
        BpeTokenizer bpe;
        try
        {
            var options = separateFiles
                ? new BpeOptions(TokenizerFiles.Require(folder, "vocab.json"), TokenizerFiles.Require(folder, "merges.txt"))
                : TokenizerJsonBpe.Options(TokenizerFiles.Require(folder, "tokenizer.json"));
            options.ByteLevel = true;
            options.Normalizer = new NfcNormalizer();
            options.PreTokenizer = new RegexPreTokenizer(new Regex(SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), added);
            options.SpecialTokens = added;
            bpe = BpeTokenizer.Create(options);
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(folder, $"cannot load the Qwen2 BPE tokenizer from {source} ({e.GetType().Name}: {e.Message})", e);
        }
        int padId = added.TryGetValue(pad, out int p) ? p : bpe.Vocabulary.TryGetValue(pad, out p) ? p
            : throw new CheckpointException(configPath, $"pad token '{pad}' is neither an added token nor in the vocabulary");
        return new Qwen2BpeTokenizer(bpe, added, padId);
    }

    /// <summary>The id of an added token (e.g. <c>&lt;|im_start|&gt;</c>).</summary>
    public int AddedTokenId(string token) =>
        _added.TryGetValue(token, out int id) ? id : throw new ArgumentException($"'{token}' is not an added token of this tokenizer", nameof(token));

    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _bpe.EncodeToIds(text);
    }
}
