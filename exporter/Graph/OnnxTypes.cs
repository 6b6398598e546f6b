using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

/// <summary>TensorDType ↔ ONNX TensorProto.DataType codes.</summary>
public static class OnnxTypes
{
    public static int ToOnnx(TensorDType t) => t switch
    {
        TensorDType.F32 => 1, TensorDType.U8 => 2, TensorDType.I8 => 3, TensorDType.I16 => 5, TensorDType.I32 => 6,
        TensorDType.I64 => 7, TensorDType.Bool => 9, TensorDType.F16 => 10, TensorDType.F64 => 11, TensorDType.BF16 => 16,
        TensorDType.F8E4M3 => 17, TensorDType.F8E5M2 => 19,
        _ => throw new NotSupportedException($"no ONNX type for {t}"),
    };

    public static string Name(TensorDType t) => t switch
    {
        TensorDType.F32 => "float32", TensorDType.F16 => "float16", TensorDType.BF16 => "bfloat16", TensorDType.I64 => "int64",
        TensorDType.I32 => "int32", TensorDType.Bool => "bool", TensorDType.U8 => "uint8", _ => t.ToString().ToLowerInvariant(),
    };
}
