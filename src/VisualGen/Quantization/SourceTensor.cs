using VisualGen.Checkpoints;
using VisualGen.Tensors;

namespace VisualGen.Quantization;

/// <summary>
/// A floating-point tensor to quantize: its values widened to float32, and the dtype it was stored in, since some
/// scales are rounded to that dtype (a bf16 weight's scale is a bf16 number). Weights are [out, in], row-major.
/// </summary>
public sealed record SourceTensor(string Name, TensorDType DType, long[] Shape, float[] Values)
{
    /// <summary>The dtypes a source tensor may have.</summary>
    public static readonly TensorDType[] FloatingTypes = [TensorDType.F32, TensorDType.BF16, TensorDType.F16];

    /// <summary>Reads one tensor of a safetensors file; refuses any dtype but F32, BF16 and F16, and NaN or ±∞.</summary>
    public static SourceTensor Read(SafeTensorsFile file, string name)
    {
        var info = file.Info(name);
        if (!FloatingTypes.Contains(info.DType))
            throw new QuantizationException($"tensor '{name}' is {info.DType.SafeTensorsName()}; only F32, BF16 and F16 tensors can be quantized");
        var tensor = new SourceTensor(name, info.DType, info.Shape, ElementConvert.ToFloat32(file.GetBytes(name), info.DType, info.ElementCount));
        tensor.RequireFinite();
        return tensor;
    }

    /// <summary>Wraps float32 values (tests, and callers that already hold a tensor).</summary>
    public static SourceTensor Float32(string name, long[] shape, float[] values) => new(name, TensorDType.F32, shape, values);

    public int Rows => (int)Shape[0];
    public int Columns => (int)Shape[1];

    /// <summary>Rounds a scale to this tensor's dtype, round-to-nearest-even (float32 scales are left as they are).</summary>
    public float RoundToDType(float scale) => RoundToDType(DType, scale);

    /// <summary>Rounds a scale to <paramref name="dtype"/>, round-to-nearest-even (float32 scales are left as they are).</summary>
    public static float RoundToDType(TensorDType dtype, float scale) => dtype switch
    {
        TensorDType.BF16 => ElementConvert.BFloat16ToFloat(ElementConvert.FloatToBFloat16(scale)),
        TensorDType.F16 => (float)(Half)scale,
        _ => scale,
    };

    /// <summary>Throws unless this is a matrix; <paramref name="scheme"/> names who needs it.</summary>
    public void RequireMatrix(string scheme)
    {
        if (Shape.Length != 2)
            throw new QuantizationException($"tensor '{Name}' has shape [{string.Join(", ", Shape)}]; {scheme} quantizes 2-D tensors ([out, in] weights, [tokens, channels] activations)");
    }

    void RequireFinite()
    {
        var values = Values;
        for (int i = 0; i < values.Length; i++)
            if (!float.IsFinite(values[i]))
                throw new QuantizationException($"tensor '{Name}' holds {values[i]} at element {i}; only finite values can be quantized");
    }
}
