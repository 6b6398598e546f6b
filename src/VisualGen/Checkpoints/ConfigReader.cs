using System.Text.Json;
using System.Text.Json.Serialization;

namespace VisualGen.Checkpoints;

/// <summary>Reads a diffusers/transformers <c>config.json</c> into a plain record whose properties are the
/// snake_case keys in PascalCase (diffusers' config names, unchanged). Unknown keys are ignored, as diffusers does.</summary>
public static class ConfigReader
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    public static T Read<T>(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        try
        {
            using var fs = File.OpenRead(path);
            return JsonSerializer.Deserialize<T>(fs, Options) ?? throw new CheckpointException(path, "config is null");
        }
        catch (JsonException e)
        {
            string where = e.Path is { Length: > 1 } p ? $" at {p}" : "";
            throw new CheckpointException(path, $"config does not have the expected shape for {typeof(T).Name}{where}: {e.Message}", e);
        }
    }
}
