using System.Text.Json;
using VisualGen.Tests.Support;
using VisualGen.Tokenizers;

namespace VisualGen.Tests.Tokenizers;

/// <summary>Reads a family's golden.json call arguments and its tokenizer golden tensors.</summary>
internal static class TokenizerGoldens
{
    public static JsonElement Call(string family)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Fixtures.Family(family), "golden.json")));
        return doc.RootElement.GetProperty("call").Clone();
    }

    public static string? CallString(string family, string key) =>
        Call(family).TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int CallInt(string family, string key) => Call(family).GetProperty(key).GetInt32();

    public static long[] Ids(string family, string name)
    {
        using var golden = Fixtures.Golden(family);
        var t = Fixtures.GoldenTensor(golden, name);
        Assert.Equal(2, t.Rank);
        Assert.Equal(1, t.Shape[0]);
        return t.Longs;
    }

    /// <summary>Ids and mask equal the goldens exactly (the message shows both sequences on a mismatch).</summary>
    public static void AssertEqual(long[] expectedIds, long[]? expectedMask, TokenizedText actual, string what)
    {
        Assert.True(expectedIds.SequenceEqual(actual.InputIds),
            $"{what} input_ids differ:\n expected [{string.Join(", ", expectedIds)}]\n actual   [{string.Join(", ", actual.InputIds)}]");
        if (expectedMask is not null)
            Assert.True(expectedMask.SequenceEqual(actual.AttentionMask),
                $"{what} attention_mask differs:\n expected [{string.Join(", ", expectedMask)}]\n actual   [{string.Join(", ", actual.AttentionMask)}]");
    }
}
