using System.Text.Json;
using Microsoft.ML.Tokenizers;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers;

/// <summary>The BPE vocabulary and merges of a Hugging Face tokenizer.json (model.type "BPE"), for checkpoints that ship
/// no vocab.json / merges.txt. Merges are stored as "a b" strings or as [a, b] pairs; both are read.</summary>
internal static class TokenizerJsonBpe
{
    public static BpeOptions Options(string tokenizerJsonPath)
    {
        using var doc = Parse(tokenizerJsonPath);
        if (!doc.RootElement.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(tokenizerJsonPath, "no 'model' object");
        if (!model.TryGetProperty("type", out var type) || type.GetString() != "BPE")
            throw new CheckpointException(tokenizerJsonPath, $"model.type is '{(model.TryGetProperty("type", out var t) ? t.ToString() : "missing")}', expected 'BPE'");
        if (!model.TryGetProperty("vocab", out var vocabJson) || vocabJson.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(tokenizerJsonPath, "model.vocab must be an object of token → id");
        if (!model.TryGetProperty("merges", out var mergesJson) || mergesJson.ValueKind != JsonValueKind.Array)
            throw new CheckpointException(tokenizerJsonPath, "model.merges must be an array");
        var vocab = vocabJson.EnumerateObject().Select(p => new KeyValuePair<string, int>(p.Name, p.Value.GetInt32())).ToList();
        var merges = mergesJson.EnumerateArray().Select(m => m.ValueKind switch
        {
            JsonValueKind.String => m.GetString()!,
            JsonValueKind.Array when m.GetArrayLength() == 2 => $"{m[0].GetString()} {m[1].GetString()}",
            _ => throw new CheckpointException(tokenizerJsonPath, $"model.merges entry {m} is neither \"a b\" nor [a, b]"),
        }).ToList();
        return new BpeOptions(vocab) { Merges = merges };
    }

    static JsonDocument Parse(string path)
    {
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new CheckpointException(path, $"not valid JSON ({e.Message})", e); }
    }
}
