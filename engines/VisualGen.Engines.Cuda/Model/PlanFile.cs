using System.Text.Json;
using VisualGen.Checkpoints;

namespace VisualGen.Engines.Cuda.Model;

/// <summary>
/// The engine file pair of a cache entry: <c>plan.json</c> (fused op list, inputs/outputs, constant table, tuned
/// GEMM algorithms) and <c>weights.bin</c> (every constant's bytes, packed GEMM weights as bf16 [N,K], 256-byte aligned).
/// </summary>
public static class PlanFile
{
    public const string PlanName = "plan.json";
    public const string WeightsName = "weights.bin";
    public const int FormatVersion = 2;

    sealed record NodeDto(string Op, string Name, string?[] Inputs, string[] Outputs, Dictionary<string, OpAttr> Attrs);
    sealed record ConstDto(string Name, string DType, long[] Shape, long Offset, long Length);
    sealed record PortDto(string Name, string DType, string[] Dims, bool PlanTime = false);
    sealed record PlanDto(int Format, List<NodeDto> Nodes, List<ConstDto> Constants, List<PortDto> Inputs, List<PortDto> Outputs, Dictionary<string, string> GemmAlgorithms);

    static readonly JsonSerializerOptions Json = new() { WriteIndented = false, DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    /// <summary>Writes the graph and its constants; returns the bytes of weights written.</summary>
    public static long Write(OpGraph g, string dir, IReadOnlyDictionary<string, byte[]> algorithms)
    {
        var consts = new List<ConstDto>();
        long at = 0;
        using (var fs = new FileStream(Path.Combine(dir, WeightsName), FileMode.Create, FileAccess.Write, FileShare.None, 1 << 22))
        {
            foreach (var c in g.Constants.Values.OrderBy(c => c.Name, StringComparer.Ordinal))
            {
                var b = c.Bytes;
                fs.Write(b);
                consts.Add(new ConstDto(c.Name, c.DType.ToString(), c.Shape, at, b.LongLength));
                at += b.LongLength;
                long pad = (256 - at % 256) % 256;
                if (pad > 0) { fs.Write(new byte[pad]); at += pad; }
                c.Release();
            }
        }
        var dto = new PlanDto(FormatVersion,
            g.Nodes.Select(n => new NodeDto(n.Op, n.Name, n.Inputs.ToArray(), n.Outputs.ToArray(), n.Attrs)).ToList(), consts,
            g.Inputs.Select(p => new PortDto(p.Name, p.DType.ToString(), p.Dims, p.PlanTime)).ToList(),
            g.Outputs.Select(p => new PortDto(p.Name, p.DType.ToString(), p.Dims)).ToList(),
            algorithms.ToDictionary(kv => kv.Key, kv => Convert.ToHexString(kv.Value)));
        File.WriteAllText(Path.Combine(dir, PlanName), JsonSerializer.Serialize(dto, Json));
        return at;
    }

    /// <summary>Reads a plan; constants read their bytes from weights.bin on demand.</summary>
    public static (OpGraph Graph, Dictionary<string, byte[]> Algorithms) Read(string dir)
    {
        string planPath = Path.Combine(dir, PlanName), weights = Path.Combine(dir, WeightsName);
        if (!File.Exists(planPath)) throw new EngineException($"engine file '{planPath}' is missing");
        var dto = JsonSerializer.Deserialize<PlanDto>(File.ReadAllText(planPath), Json) ?? throw new EngineException($"'{planPath}' is empty");
        if (dto.Format != FormatVersion) throw new EngineException($"'{planPath}' has plan format {dto.Format}; this engine reads {FormatVersion} (rebuild the entry)");
        var g = new OpGraph();
        foreach (var n in dto.Nodes) g.Nodes.Add(new OpNode(n.Op, n.Name, n.Inputs, n.Outputs, n.Attrs));
        foreach (var c in dto.Constants)
        {
            var (off, len) = (c.Offset, c.Length);
            g.Constants[c.Name] = new ConstTensor(c.Name, Enum.Parse<TensorDType>(c.DType), c.Shape, () =>
            {
                var buf = new byte[len];
                using var fs = new FileStream(weights, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
                fs.Seek(off, SeekOrigin.Begin);
                fs.ReadExactly(buf);
                return buf;
            });
        }
        foreach (var p in dto.Inputs) g.Inputs.Add(new OpPort(p.Name, Enum.Parse<TensorDType>(p.DType), p.Dims, p.PlanTime));
        foreach (var p in dto.Outputs) g.Outputs.Add(new OpPort(p.Name, Enum.Parse<TensorDType>(p.DType), p.Dims));
        return (g, dto.GemmAlgorithms.ToDictionary(kv => kv.Key, kv => Convert.FromHexString(kv.Value)));
    }
}
