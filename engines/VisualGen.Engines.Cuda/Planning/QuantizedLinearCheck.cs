using VisualGen.Engines;
using VisualGen.Onnx.Proto;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// Refuses graphs with quantized linears (the exporter's FP8 / FP8_BLOCK_SCALES / NVFP4 pattern: float8e4m3fn or
/// packed uint8 weight constants dequantized by DequantizeLinear, Cast or BitwiseAnd/BitShift, and QuantizeLinear on
/// activations) before anything else reads them: the native engine has no FP8 or NVFP4 GEMMs yet, and says so rather
/// than failing on the first float8 constant or unknown op.
/// </summary>
public static class QuantizedLinearCheck
{
    const int Float8E4M3FN = 17;

    static readonly HashSet<string> QuantOps = new(StringComparer.Ordinal) { "QuantizeLinear", "DequantizeLinear", "BitwiseAnd", "BitShift" };

    public static void Refuse(ModelProto model, string source)
    {
        var graph = model.Graph;
        var fp8 = graph.Initializer.Where(t => t.DataType == Float8E4M3FN).Select(t => t.Name).ToList();
        var ops = graph.Node.Where(n => QuantOps.Contains(n.OpType)).ToList();
        if (fp8.Count == 0 && ops.Count == 0) return;
        var kinds = ops.Select(n => n.OpType).Distinct().Order(StringComparer.Ordinal);
        throw new EngineException($"{source}: the graph has quantized linears ({fp8.Count} float8e4m3fn constant(s)" +
            (fp8.Count > 0 ? $", e.g. '{fp8[0]}'" : "") + $"; {ops.Count} quantize/dequantize node(s): {string.Join(", ", kinds)}), " +
            "and the native CUDA engine has no FP8 or NVFP4 GEMMs yet. Run quantized checkpoints on ONNX Runtime (--engine ort-cpu or ort-cuda).");
    }
}
