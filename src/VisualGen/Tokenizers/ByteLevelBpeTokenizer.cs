using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers;

/// <summary>
/// A byte-level BPE tokenizer read from a Hugging Face <c>tokenizer.json</c> alone (FLUX.2's Mistral tokenizer ships
/// no vocab.json/merges.txt): <c>model.vocab</c> and <c>model.merges</c> into Microsoft.ML.Tokenizers' BPE, the
/// <c>added_tokens</c> matched in the text first, then the pre-tokenizer's split — <c>ByteLevel</c> with its GPT-2
/// pattern, or a <c>Sequence</c> of a regex <c>Split</c> (isolated) and <c>ByteLevel</c> without regex, as Mistral's
/// Tekken tokenizers have it — and BPE per piece. With <c>ignore_merges</c> a piece that is itself in the vocabulary
/// is one token, as Hugging Face does. Other normalizers, pre-tokenizers or models are refused, naming them.
/// </summary>
public sealed class ByteLevelBpeTokenizer : ITextTokenizer
{
    /// <summary>The ByteLevel pre-tokenizer's pattern with use_regex (GPT-2's).</summary>
    public const string Gpt2Pattern = @"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";

    readonly BpeTokenizer _bpe;
    readonly Regex _split;
    readonly Dictionary<string, int> _added;
    readonly AddedTokenSplit _addedSplit;
    readonly Dictionary<string, int> _vocab;
    readonly bool _ignoreMerges;

    public IReadOnlyDictionary<string, int> AddedTokens => _added;

    ByteLevelBpeTokenizer(BpeTokenizer bpe, Regex split, Dictionary<string, int> added, Dictionary<string, int> vocab, bool ignoreMerges)
    {
        _bpe = bpe; _split = split; _added = added; _vocab = vocab; _ignoreMerges = ignoreMerges;
        _addedSplit = new AddedTokenSplit(added);
    }

    public static ByteLevelBpeTokenizer Load(string folder)
    {
        string path = TokenizerFiles.Require(folder, "tokenizer.json");
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new CheckpointException(path, $"not valid JSON ({e.Message})", e); }
        using (doc)
        {
            try { return Load(doc.RootElement, path); }
            catch (Exception e) when (e is InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException or FormatException or ArgumentException)
            {
                // a value of the wrong JSON kind (vocab a list, a merge a number, an added token without an id) or a
                // pre-tokenizer regex .NET cannot parse is the file's problem, not a crash
                throw new CheckpointException(path, $"cannot be read ({e.GetType().Name}: {e.Message}); expected a Hugging Face " +
                    "tokenizer.json: model.vocab an object of token → id, model.merges \"a b\" strings or [a, b] pairs, added_tokens objects with content and id", e);
            }
        }
    }

    static ByteLevelBpeTokenizer Load(JsonElement root, string path)
    {
        if (root.TryGetProperty("normalizer", out var norm) && norm.ValueKind != JsonValueKind.Null)
            throw new CheckpointException(path, $"normalizer '{TypeOf(norm)}' is not supported (byte-level BPE without a normalizer)");
        var model = root.TryGetProperty("model", out var m) ? m : throw new CheckpointException(path, "no 'model'");
        if (TypeOf(model) != "BPE") throw new CheckpointException(path, $"model type '{TypeOf(model)}' is not supported (BPE)");
        if (model.TryGetProperty("byte_fallback", out var bf) && bf.ValueKind == JsonValueKind.True)
            throw new CheckpointException(path, "BPE byte_fallback is not supported (byte-level BPE needs none)");
        bool ignoreMerges = model.TryGetProperty("ignore_merges", out var im) && im.ValueKind == JsonValueKind.True;
        var split = new Regex(SplitPattern(root, path), RegexOptions.Compiled | RegexOptions.CultureInvariant);

        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var e in model.GetProperty("vocab").EnumerateObject()) vocab[e.Name] = e.Value.GetInt32();
        var merges = new List<string>();
        foreach (var e in model.GetProperty("merges").EnumerateArray())
            merges.Add(e.ValueKind == JsonValueKind.String ? e.GetString()! : $"{e[0].GetString()} {e[1].GetString()}");
        var added = new Dictionary<string, int>(StringComparer.Ordinal);
        if (root.TryGetProperty("added_tokens", out var at))
            foreach (var e in at.EnumerateArray()) added[e.GetProperty("content").GetString()!] = e.GetProperty("id").GetInt32();

        BpeTokenizer bpe;
        try
        {
            // pieces are split here (added tokens, the pre-tokenizer's regex), so the BPE sees one piece at a time
            // and must not split it again: its pre-tokenizer takes the whole piece (the default drops spaces)
            bpe = BpeTokenizer.Create(new BpeOptions(vocab)
            {
                Merges = merges, ByteLevel = true,
                PreTokenizer = new RegexPreTokenizer(new Regex(@"[\s\S]+", RegexOptions.CultureInvariant), null),
            });
        }
        catch (Exception e)
        {
            throw new CheckpointException(path, $"cannot load the BPE model ({e.GetType().Name}: {e.Message})", e);
        }
        return new ByteLevelBpeTokenizer(bpe, split, added, vocab, ignoreMerges);
    }

    static string TypeOf(JsonElement e) => e.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";

    /// <summary>The regex the pre-tokenizer splits with.</summary>
    static string SplitPattern(JsonElement root, string path)
    {
        if (!root.TryGetProperty("pre_tokenizer", out var pre) || pre.ValueKind == JsonValueKind.Null)
            throw new CheckpointException(path, "no pre_tokenizer (a byte-level BPE needs ByteLevel)");
        switch (TypeOf(pre))
        {
            case "ByteLevel":
                CheckByteLevel(pre, path, useRegex: true);
                return Gpt2Pattern;
            case "Sequence":
                var steps = pre.GetProperty("pretokenizers").EnumerateArray().ToArray();
                if (steps.Length == 2 && TypeOf(steps[0]) == "Split" && TypeOf(steps[1]) == "ByteLevel"
                    && steps[0].TryGetProperty("pattern", out var p) && p.TryGetProperty("Regex", out var regex)
                    && steps[0].GetProperty("behavior").GetString() == "Isolated"
                    && !(steps[0].TryGetProperty("invert", out var inv) && inv.ValueKind == JsonValueKind.True))
                {
                    CheckByteLevel(steps[1], path, useRegex: false);
                    return regex.GetString()!;
                }
                break;
        }
        throw new CheckpointException(path, $"pre_tokenizer {pre.GetRawText()} is not supported (ByteLevel, or Sequence of an isolated regex Split and ByteLevel)");
    }

    static void CheckByteLevel(JsonElement e, string path, bool useRegex)
    {
        if (e.TryGetProperty("add_prefix_space", out var a) && a.ValueKind == JsonValueKind.True)
            throw new CheckpointException(path, "ByteLevel add_prefix_space is not supported");
        bool regex = !e.TryGetProperty("use_regex", out var r) || r.ValueKind == JsonValueKind.True;
        if (regex != useRegex)
            throw new CheckpointException(path, $"ByteLevel use_regex {regex.ToString().ToLowerInvariant()} is not supported here");
    }

    /// <summary>The id of an added token (e.g. <c>&lt;pad&gt;</c>).</summary>
    public int AddedTokenId(string token) =>
        _added.TryGetValue(token, out int id) ? id : throw new ArgumentException($"'{token}' is not an added token of this tokenizer", nameof(token));

    public IReadOnlyList<int> EncodeToIds(string text) => _addedSplit.Encode(text, EncodeSegment);

    void EncodeSegment(string segment, List<int> ids)
    {
        foreach (Match piece in _split.Matches(segment))
        {
            if (_ignoreMerges && _vocab.TryGetValue(ByteLevelChars(piece.Value), out int whole)) ids.Add(whole);
            else ids.AddRange(_bpe.EncodeToIds(piece.Value));
        }
    }

    static readonly char[] ByteToChar = BuildByteToChar();

    /// <summary>GPT-2's bytes_to_unicode: printable bytes stand for themselves, the rest map to 256 + n.</summary>
    static char[] BuildByteToChar()
    {
        var map = new char[256];
        int n = 0;
        for (int b = 0; b < 256; b++)
        {
            bool printable = b is >= '!' and <= '~' or >= 0xA1 and <= 0xAC or >= 0xAE and <= 0xFF;
            map[b] = printable ? (char)b : (char)(256 + n++);
        }
        return map;
    }

    static string ByteLevelChars(string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        var chars = new char[bytes.Length];
        for (int i = 0; i < bytes.Length; i++) chars[i] = ByteToChar[bytes[i]];
        return new string(chars);
    }
}
