using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers;

namespace VisualGen.Tests.Tokenizers;

/// <summary>ByteLevelBpeTokenizer on small tokenizer.json files written here: the Tekken form (a regex Split then
/// ByteLevel without regex), ignore_merges (a piece in the vocabulary is one token even when no merge reaches it),
/// added tokens matched before splitting, and forms it does not support refused by name.</summary>
public class ByteLevelBpeTokenizerTests
{
    static readonly string[] Chars = ["h", "e", "l", "o", "Ġ", "w", "r", "d", "he", "ll", "hell", "hello", "Ġw", "Ġworld"];

    static string Write(bool ignoreMerges, object? normalizer = null)
    {
        string dir = Fixtures.TempDir("bpe");
        var vocab = new Dictionary<string, int> { ["<s>"] = 0, ["[INST]"] = 1 };
        foreach (var c in Chars) vocab[c] = vocab.Count;
        var json = new Dictionary<string, object?>
        {
            ["normalizer"] = normalizer,
            ["added_tokens"] = new[] { new { id = 0, content = "<s>", special = true }, new { id = 1, content = "[INST]", special = true } },
            ["pre_tokenizer"] = new
            {
                type = "Sequence",
                pretokenizers = new object[]
                {
                    new { type = "Split", pattern = new { Regex = @" ?\p{L}+|\s+" }, behavior = "Isolated", invert = false },
                    new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = false },
                },
            },
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE", ["byte_fallback"] = false, ["ignore_merges"] = ignoreMerges, ["vocab"] = vocab,
                // no merge builds "Ġworld": only ignore_merges can produce it
                ["merges"] = new[] { new[] { "h", "e" }, new[] { "l", "l" }, new[] { "he", "ll" }, new[] { "hell", "o" }, new[] { "Ġ", "w" } },
            },
        };
        File.WriteAllText(Path.Combine(dir, "tokenizer.json"), JsonSerializer.Serialize(json));
        return dir;
    }

    static int Id(string token) => Array.IndexOf(Chars, token) + 2;

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Tekken_form_splits_then_merges_and_honours_ignore_merges(bool ignoreMerges)
    {
        string dir = Write(ignoreMerges);
        try
        {
            var ids = ByteLevelBpeTokenizer.Load(dir).EncodeToIds("<s>[INST]hello world");
            int[] world = ignoreMerges ? [Id("Ġworld")] : [Id("Ġw"), Id("o"), Id("r"), Id("l"), Id("d")];
            Assert.Equal([0, 1, Id("hello"), .. world], ids);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_normalizer_is_refused_by_name()
    {
        string dir = Write(false, new { type = "NFKC" });
        try
        {
            var e = Assert.Throws<CheckpointException>(() => ByteLevelBpeTokenizer.Load(dir));
            Assert.Contains("NFKC", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
