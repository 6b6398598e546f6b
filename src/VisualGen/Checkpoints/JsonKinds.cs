using System.Text.Json;

namespace VisualGen.Checkpoints;

/// <summary>Names of JSON value kinds for error messages ("an array", "a string"...).</summary>
static class JsonKinds
{
    public static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    /// <summary>Parses a JSON file whose root must be an object.</summary>
    public static JsonElement ReadObjectFile(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException(path, "file not found");
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true });
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new CheckpointException(path, $"not valid JSON ({e.Message})", e); }
        if (root.ValueKind != JsonValueKind.Object)
            throw new CheckpointException(path, $"expected a JSON object, found {Describe(root.ValueKind)}");
        return root;
    }
}
