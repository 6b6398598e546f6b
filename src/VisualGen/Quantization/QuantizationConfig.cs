using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VisualGen.Quantization;

/// <summary>
/// How a component's linears are quantized: ModelOpt's <c>quant_algo</c> and the <c>ignore</c> patterns (module paths
/// such as <c>proj_out</c>, <c>*</c> matching any run of characters). Comes from a checkpoint's config.json
/// <c>quantization_config</c> (static: the checkpoint holds quantized weights and scales) or from the user (the CLI's
/// <c>--quant-algo</c>, the API, the server's model config: dynamic, the weights are quantized when the graph is built).
/// </summary>
public sealed record QuantizationConfig(QuantAlgo Algo, IReadOnlyList<string> Ignore)
{
    /// <summary>Whether <paramref name="modulePath"/> ("blocks.0.attn1.to_q") matches an ignore pattern.</summary>
    public bool IsIgnored(string modulePath) => Ignore.Any(p => Matches(p, modulePath));

    /// <summary>How an ignore pattern is read, for messages about patterns that match nothing.</summary>
    public const string PatternSyntax = "patterns match module paths such as 'blocks.0.attn1.to_q', '*' any run of characters";

    /// <summary>The ignore patterns that match no module of a component whose tensors are <paramref name="tensorNames"/>
    /// ("blocks.0.attn1.to_q.weight": the modules blocks, blocks.0, blocks.0.attn1, blocks.0.attn1.to_q). A pattern naming a
    /// module that is no linear (ModelOpt lists patch_embedding) is kept; one naming nothing is a typo that ignores nothing.</summary>
    public IReadOnlyList<string> Unmatched(IEnumerable<string> tensorNames)
    {
        var modules = new HashSet<string>(StringComparer.Ordinal);
        foreach (string n in tensorNames)
            for (int dot = n.IndexOf('.'); dot > 0; dot = n.IndexOf('.', dot + 1)) modules.Add(n[..dot]);
        return [.. Ignore.Where(p => !modules.Any(m => Matches(p, m)))];
    }

    static bool Matches(string pattern, string path) =>
        Regex.IsMatch(path, "^" + string.Join(".*", pattern.Split('*').Select(Regex.Escape)) + "$", RegexOptions.CultureInvariant);

    /// <summary>The text the engine cache key includes: equal configs quantize the same linears the same way.</summary>
    public string KeyText => $"{Algo.Name};ignore={string.Join(",", Ignore)}";

    /// <summary>Reads <c>quantization_config</c> of a component's config.json; null when it has none. An unknown
    /// <c>quant_method</c> or <c>quant_algo</c> is an error naming the file.</summary>
    public static QuantizationConfig? FromComponentConfig(string configPath)
    {
        if (!File.Exists(configPath)) return null;
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(configPath)); }
        catch (JsonException e) { throw new QuantizationException($"{configPath}: not valid JSON ({e.Message})"); }
        // absent or null: not quantized
        if (root is not JsonObject o || !o.TryGetPropertyValue("quantization_config", out var node) || node is null) return null;
        string where = $"{configPath}: quantization_config";
        // a string, a list, a number: a quantized checkpoint whose config cannot be read, not an unquantized one
        if (node is not JsonObject q)
            throw new QuantizationException($"{where} is {node.GetValueKind().ToString().ToLowerInvariant()}; " +
                "a ModelOpt checkpoint's is an object with quant_algo (FP8, FP8_BLOCK_SCALES, NVFP4)");
        try { return Read(q, where); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new QuantizationException($"{where}: a value has the wrong type ({e.Message}); quant_method and quant_algo are strings, ignore a list of strings");
        }
    }

    static QuantizationConfig Read(JsonObject q, string where)
    {
        string? method = q["quant_method"]?.GetValue<string>();
        if (method is not null && method != "modelopt")
            throw new QuantizationException($"{where}: quant_method '{method}' is not supported (VisualGen reads ModelOpt checkpoints: 'modelopt')");
        string algo = q["quant_algo"]?.GetValue<string>() ?? throw new QuantizationException($"{where} has no quant_algo");
        var ignore = q["ignore"] is JsonArray list ? list.Select(n => n?.GetValue<string>() ?? throw new QuantizationException($"{where}: ignore holds a null")).ToList() : [];
        // config_groups is not needed: which tensors a linear has (input_scale for static FP8 activations) says the rest
        return new QuantizationConfig(QuantAlgo.Parse(algo, where), ignore);
    }

    /// <summary>The <c>quantization_config</c> object ModelOpt writes for this config (weights static, activations
    /// dynamic: a checkpoint quantized without calibration has no input scales).</summary>
    public JsonObject ToJson()
    {
        var weights = new JsonObject { ["dynamic"] = false, ["num_bits"] = Algo == QuantAlgo.Nvfp4 ? 4 : 8, ["type"] = "float" };
        if (Algo == QuantAlgo.Nvfp4) weights["group_size"] = Nvfp4Scheme.BlockSize;
        if (Algo == QuantAlgo.Fp8Block) weights["block_structure"] = $"{Fp8BlockScheme.BlockSize}x{Fp8BlockScheme.BlockSize}";
        return new JsonObject
        {
            ["quant_method"] = "modelopt",
            ["quant_algo"] = Algo.Name,
            ["config_groups"] = new JsonObject
            {
                ["group_0"] = new JsonObject
                {
                    ["targets"] = new JsonArray("Linear"),
                    ["weights"] = weights,
                    ["input_activations"] = new JsonObject { ["dynamic"] = true, ["num_bits"] = Algo == QuantAlgo.Nvfp4 ? 4 : 8, ["type"] = "float" },
                },
            },
            ["ignore"] = new JsonArray(Ignore.Select(p => (JsonNode)JsonValue.Create(p)!).ToArray()),
        };
    }
}
