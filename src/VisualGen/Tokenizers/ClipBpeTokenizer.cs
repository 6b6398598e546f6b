using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;
using VisualGen.Tokenizers.Text;

namespace VisualGen.Tokenizers;

/// <summary>
/// CLIP's byte-level BPE (vocab.json + merges.txt) through Microsoft.ML.Tokenizers: NFC, whitespace
/// collapse and lower-casing, CLIP's split pattern, <c>&lt;/w&gt;</c> word ends. Special tokens
/// (BOS, EOS, pad) come from tokenizer_config.json.
/// </summary>
public sealed class ClipBpeTokenizer : ITextTokenizer
{
    /// <summary>CLIP's pre-tokenizer pattern (tokenizer.json's Split, keeping the matches).</summary>
    public const string SplitPattern = @"<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+";

    readonly BpeTokenizer _bpe;

    public int BosId { get; }
    public int EosId { get; }
    public int PadId { get; }
    /// <summary>tokenizer_config.json's <c>model_max_length</c> (77 for CLIP).</summary>
    public int ModelMaxLength { get; }

    ClipBpeTokenizer(BpeTokenizer bpe, int bosId, int eosId, int padId, int modelMaxLength)
    {
        _bpe = bpe; BosId = bosId; EosId = eosId; PadId = padId; ModelMaxLength = modelMaxLength;
    }

    /// <summary>Loads vocab.json, merges.txt and tokenizer_config.json from a checkpoint's tokenizer folder.</summary>
    public static ClipBpeTokenizer Load(string folder)
    {
        string vocab = TokenizerFiles.Require(folder, "vocab.json");
        string merges = TokenizerFiles.Require(folder, "merges.txt");
        string configPath = TokenizerFiles.Require(folder, "tokenizer_config.json");
        using var config = TokenizerFiles.ReadConfig(folder);
        var root = config.RootElement;
        var added = TokenizerFiles.AddedTokens(root, configPath);
        string bos = TokenizerFiles.TokenString(root, "bos_token") ?? throw new CheckpointException(configPath, "no 'bos_token' (CLIP needs <|startoftext|>)");
        string eos = TokenizerFiles.TokenString(root, "eos_token") ?? throw new CheckpointException(configPath, "no 'eos_token' (CLIP needs <|endoftext|>)");
        string pad = TokenizerFiles.TokenString(root, "pad_token") ?? eos;
        string? unk = TokenizerFiles.TokenString(root, "unk_token");
        int maxLength = root.TryGetProperty("model_max_length", out var m) && m.TryGetInt32(out int ml) ? ml
            : throw new CheckpointException(configPath, "no integer 'model_max_length' (CLIP's context length, 77)");
        // every prompt is <|startoftext|> ... <|endoftext|>: a shorter length cannot hold them (it failed at tokenization)
        if (maxLength < 2)
            throw new CheckpointException(configPath, $"'model_max_length' {maxLength} cannot hold CLIP's start and end tokens (CLIP's context length is 77)");

        BpeTokenizer bpe;
        try
        {
            bpe = BpeTokenizer.Create(new BpeOptions(vocab, merges)
            {
                ByteLevel = true,
                EndOfWordSuffix = "</w>",
                Normalizer = new ClipTextNormalizer(),
                PreTokenizer = new RegexPreTokenizer(new Regex(SplitPattern, RegexOptions.Compiled | RegexOptions.CultureInvariant), added),
                SpecialTokens = added,
                UnknownToken = unk,
            });
        }
        catch (Exception e) when (e is not CheckpointException)
        {
            throw new CheckpointException(folder, $"cannot load the CLIP BPE tokenizer from vocab.json + merges.txt ({e.GetType().Name}: {e.Message})", e);
        }
        int Id(string token, string role) =>
            added.TryGetValue(token, out int id) ? id
            : bpe.Vocabulary.TryGetValue(token, out id) ? id
            : throw new CheckpointException(configPath, $"{role} token '{token}' is neither an added token nor in vocab.json");
        return new ClipBpeTokenizer(bpe, Id(bos, "BOS"), Id(eos, "EOS"), Id(pad, "pad"), maxLength);
    }

    public IReadOnlyList<int> EncodeToIds(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return _bpe.EncodeToIds(text);
    }
}
