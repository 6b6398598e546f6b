using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Tokenizers;

/// <summary>The files of a checkpoint's tokenizer folder: required paths and tokenizer_config.json.</summary>
internal static class TokenizerFiles
{
    /// <summary>The path of <paramref name="fileName"/> in <paramref name="folder"/>; a missing folder or file is an error naming it.</summary>
    public static string Require(string folder, string fileName)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, "tokenizer folder not found");
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path)) throw new CheckpointException(path, $"tokenizer file '{fileName}' not found");
        return path;
    }

    /// <summary>Parsed tokenizer_config.json of <paramref name="folder"/>.</summary>
    public static JsonDocument ReadConfig(string folder)
    {
        var path = Require(folder, "tokenizer_config.json");
        try { return JsonDocument.Parse(File.ReadAllBytes(path)); }
        catch (JsonException e) { throw new CheckpointException(path, $"not valid JSON ({e.Message})", e); }
    }

    /// <summary>A string entry of tokenizer_config.json (a plain string or an AddedToken object with "content"), or null.</summary>
    public static string? TokenString(JsonElement config, string key)
    {
        if (!config.TryGetProperty(key, out var v)) return null;
        return v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Object when v.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
            _ => null,
        };
    }

    /// <summary>The "added_tokens_decoder" of tokenizer_config.json: content → id (all of them, special or not).</summary>
    public static Dictionary<string, int> AddedTokens(JsonElement config, string configPath)
    {
        var tokens = new Dictionary<string, int>(StringComparer.Ordinal);
        if (!config.TryGetProperty("added_tokens_decoder", out var decoder)) return tokens;
        if (decoder.ValueKind != JsonValueKind.Object) throw new CheckpointException(configPath, "'added_tokens_decoder' must be an object of id → token");
        foreach (var entry in decoder.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int id))
                throw new CheckpointException(configPath, $"'added_tokens_decoder' key '{entry.Name}' is not a token id");
            if (entry.Value.ValueKind != JsonValueKind.Object || !entry.Value.TryGetProperty("content", out var c) || c.ValueKind != JsonValueKind.String)
                throw new CheckpointException(configPath, $"'added_tokens_decoder' entry {id} has no string 'content'");
            tokens[c.GetString()!] = id;
        }
        return tokens;
    }
}
