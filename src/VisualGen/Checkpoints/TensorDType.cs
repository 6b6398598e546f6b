namespace VisualGen.Checkpoints;

/// <summary>Element types of safetensors files (and of graph tensors).</summary>
public enum TensorDType
{
    F64, F32, F16, BF16, F8E4M3, F8E5M2, I64, I32, I16, I8, U8, Bool,
}

public static class TensorDTypes
{
    public static int SizeOf(this TensorDType t) => t switch
    {
        TensorDType.F64 or TensorDType.I64 => 8,
        TensorDType.F32 or TensorDType.I32 => 4,
        TensorDType.F16 or TensorDType.BF16 or TensorDType.I16 => 2,
        _ => 1,
    };

    /// <summary>The safetensors header spelling.</summary>
    public static string SafeTensorsName(this TensorDType t) => t switch
    {
        TensorDType.F8E4M3 => "F8_E4M3",
        TensorDType.F8E5M2 => "F8_E5M2",
        TensorDType.Bool => "BOOL",
        _ => t.ToString(),
    };

    public static bool TryParseSafeTensors(string name, out TensorDType t)
    {
        switch (name)
        {
            case "F64": t = TensorDType.F64; return true;
            case "F32": t = TensorDType.F32; return true;
            case "F16": t = TensorDType.F16; return true;
            case "BF16": t = TensorDType.BF16; return true;
            case "F8_E4M3": t = TensorDType.F8E4M3; return true;
            case "F8_E5M2": t = TensorDType.F8E5M2; return true;
            case "I64": t = TensorDType.I64; return true;
            case "I32": t = TensorDType.I32; return true;
            case "I16": t = TensorDType.I16; return true;
            case "I8": t = TensorDType.I8; return true;
            case "U8": t = TensorDType.U8; return true;
            case "BOOL": t = TensorDType.Bool; return true;
            default: t = default; return false;
        }
    }

    public static bool IsFloat(this TensorDType t) =>
        t is TensorDType.F64 or TensorDType.F32 or TensorDType.F16 or TensorDType.BF16 or TensorDType.F8E4M3 or TensorDType.F8E5M2;
}
