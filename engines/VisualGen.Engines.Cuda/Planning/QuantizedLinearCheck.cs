using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// After fusion, every quantized weight must sit in a <c>VgQuantLinear</c> (<see cref="QuantizedLinearFusion"/>): a
/// quantize/dequantize op (QuantizeLinear, DequantizeLinear, BitwiseAnd, BitShift) or a float8/uint8 constant that
/// another node still reads is a quantized pattern the native engine does not recognize. The error names the node and
/// what the engine runs, rather than failing later on an unknown op or element type.
/// </summary>
public static class QuantizedLinearCheck
{
    static readonly HashSet<string> QuantOps = new(StringComparer.Ordinal) { "QuantizeLinear", "DequantizeLinear", "BitwiseAnd", "BitShift" };

    public static void RequireFused(OpGraph g, string source)
    {
        var quantConsts = g.Constants.Values.Where(c => c.DType is TensorDType.F8E4M3 or TensorDType.U8).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var left = g.Nodes.Where(n => n.Op != "VgQuantLinear" && (QuantOps.Contains(n.Op) || n.Inputs.Any(i => i is not null && quantConsts.Contains(i)))).ToList();
        if (left.Count == 0) return;
        throw new EngineException($"{source}: {left.Count} node(s) of quantized linears are not in a pattern the native CUDA engine runs, e.g. " +
            string.Join(", ", left.Take(4).Select(n => $"'{n.Name}' ({n.Op})")) +
            ". It runs the exporter's FP8 (per-tensor, static or dynamic input scale), FP8_BLOCK_SCALES and NVFP4 linears " +
            "(dequantized weight, Transpose, MatMul); run other quantized graphs on ONNX Runtime (--engine ort-cpu or ort-cuda).");
    }
}
