using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace VisualGen.Demo;

/// <summary>Writes the demo's JSON files byte-identically on every platform (indented, "\n" line ends, UTF-8 without BOM).</summary>
internal static class DemoJson
{
    static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static void Write(string path, JsonObject json) =>
        File.WriteAllText(path, json.ToJsonString(Options) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));

    // Non-generic JsonValue.Create overloads: no reflection-based serializer metadata needed (trimming-safe).
    public static JsonArray Array(IEnumerable<int> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
    public static JsonArray Array(IEnumerable<double> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
    public static JsonArray Array(IEnumerable<bool> values) => new([.. values.Select(v => (JsonNode)JsonValue.Create(v))]);
    public static JsonArray Array(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    /// <summary>A diffusers component entry of model_index.json: <c>[library, class]</c> or <c>[null, null]</c>.</summary>
    public static JsonArray Component(string? library, string? className) => new(JsonValue.Create(library), JsonValue.Create(className));
}
