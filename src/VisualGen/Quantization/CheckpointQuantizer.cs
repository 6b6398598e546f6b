using System.Text.Json;
using System.Text.Json.Nodes;
using VisualGen.Checkpoints;

namespace VisualGen.Quantization;

/// <summary>
/// Writes a ModelOpt-style quantized copy of one component folder: each listed linear's <c>weight</c> replaced by its
/// codes and scales (FP8: e4m3 <c>weight</c> + F32 <c>weight_scale</c>; FP8_BLOCK_SCALES: the same with one scale per
/// 128×128 block; NVFP4: packed U8 <c>weight</c> + e4m3 <c>weight_scale</c> + F32 <c>weight_scale_2</c>), every other
/// tensor as it was, and config.json with a <c>quantization_config</c> whose <c>ignore</c> adds the linears left
/// unquantized. One safetensors file holds the weights (the source may be sharded).
/// </summary>
public static class CheckpointQuantizer
{
    /// <summary>Quantizes <paramref name="linears"/> (module paths) of the component in <paramref name="sourceDir"/>
    /// into <paramref name="targetDir"/>; <paramref name="leftOut"/> are the linears the algorithm cannot take. One tensor
    /// is in memory at a time (<see cref="SafeTensorsStreamWriter"/>); <paramref name="progress"/> hears every tenth of
    /// the linears and the file written.</summary>
    public static void QuantizeComponent(string sourceDir, string targetDir, QuantizationConfig config,
        IReadOnlyCollection<string> linears, IReadOnlyCollection<string> leftOut, IProgress<string>? progress = null,
        CancellationToken cancellation = default)
    {
        Directory.CreateDirectory(targetDir);
        var scheme = Scheme(config.Algo);
        using (var weights = ComponentWeights.Open(sourceDir))
        {
            string weightsName = weights.IndexPath is null ? Path.GetFileName(weights.Files[0].Path) : "diffusion_pytorch_model.safetensors";
            foreach (string path in linears)
                if (!weights.Contains(path + ".weight"))
                    throw new CheckpointException(sourceDir, $"linear '{path}' has no weight '{path}.weight'");
            var linearWeights = linears.Select(p => p + ".weight").ToHashSet(StringComparer.Ordinal);
            var sharedAmax = config.Algo == QuantAlgo.Nvfp4 ? SharedAmax(weights, linears) : [];
            string target = Path.Combine(targetDir, weightsName);
            using var writer = new SafeTensorsStreamWriter(target);
            int done = 0;
            foreach (string name in weights.Names.Order(StringComparer.Ordinal))
            {
                cancellation.ThrowIfCancellationRequested();
                if (!linearWeights.Contains(name))
                {
                    var info = weights.Info(name);
                    writer.Add(new TensorData(name, info.DType, info.Shape, weights.GetBytes(name).ToArray()));
                    continue;
                }
                string module = name[..^".weight".Length];
                var source = Source(weights, name);
                var q = sharedAmax.TryGetValue(module, out float amax) ? ((Nvfp4Scheme)scheme).Quantize(source, amax) : scheme.Quantize(source);
                foreach (var t in Stored(module, config.Algo, q)) writer.Add(t);
                if (++done * 10 / linears.Count > (done - 1) * 10 / linears.Count)
                    progress?.Report($"{Path.GetFileName(targetDir)}: {done} of {linears.Count} linears quantized ({config.Algo.Name})");
            }
            progress?.Report($"writing {target} ({writer.DataBytes / 1e9:F2} GB)");
            writer.Commit();
        }
        WriteConfig(sourceDir, targetDir, config with { Ignore = [.. config.Ignore, .. leftOut.Order(StringComparer.Ordinal)] });
    }

    /// <summary>For NVFP4: the amax q, k and v of one attention share (the largest of the three), when all three are
    /// quantized, so their weight_scale_2 is one number as ModelOpt writes it for a fused QKV GEMM.</summary>
    static Dictionary<string, float> SharedAmax(ComponentWeights weights, IReadOnlyCollection<string> linears)
    {
        var set = linears.ToHashSet(StringComparer.Ordinal);
        var shared = new Dictionary<string, float>(StringComparer.Ordinal);
        foreach (string path in linears)
        {
            if (FusedProjections.GroupOf(path) is not { } members || members[0] != path || !members.All(set.Contains)) continue;
            float amax = members.Max(m => AbsMax.Of(Source(weights, m + ".weight").Values));
            foreach (var m in members) shared[m] = amax;
        }
        return shared;
    }

    static IQuantizationScheme Scheme(QuantAlgo algo)
    {
        QuantizationSchemeRegistry.CreateDefault().TryGet(algo.Scheme, out var scheme);
        return scheme;
    }

    static SourceTensor Source(ComponentWeights weights, string name)
    {
        var info = weights.Info(name);
        if (!SourceTensor.FloatingTypes.Contains(info.DType))
            throw new QuantizationException($"{weights.Directory}: '{name}' is {info.DType.SafeTensorsName()}; only F32, BF16 and F16 weights can be quantized (is the checkpoint quantized already?)");
        return new SourceTensor(name, info.DType, info.Shape, weights.ReadFloat32(name));
    }

    /// <summary>The ModelOpt tensors of one quantized linear.</summary>
    static IEnumerable<TensorData> Stored(string module, QuantAlgo algo, QuantizedTensor q)
    {
        if (algo == QuantAlgo.Nvfp4)
        {
            yield return new TensorData(module + ".weight", TensorDType.U8, q.Shape("packed"), q.Bytes("packed"));
            yield return new TensorData(module + ".weight_scale", TensorDType.F8E4M3, q.Shape("block_scale"), q.Bytes("block_scale"));
            yield return TensorData.Float32(module + ".weight_scale_2", [], q.Floats("scale_2"));
            yield break;
        }
        yield return new TensorData(module + ".weight", TensorDType.F8E4M3, q.Shape("q"), q.Bytes("q"));
        yield return TensorData.Float32(module + ".weight_scale", q.Shape("scale"), q.Floats("scale"));
    }

    static void WriteConfig(string sourceDir, string targetDir, QuantizationConfig config)
    {
        string source = Path.Combine(sourceDir, "config.json");
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllText(source)) as JsonObject ?? throw new CheckpointException(source, "expected a JSON object"); }
        catch (JsonException e) { throw new CheckpointException(source, $"not valid JSON ({e.Message})", e); }
        if (root.ContainsKey("quantization_config"))
            throw new QuantizationException($"{source} already has a quantization_config; quantize takes unquantized checkpoints");
        root["quantization_config"] = config.ToJson();
        File.WriteAllText(Path.Combine(targetDir, "config.json"), root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }
}
