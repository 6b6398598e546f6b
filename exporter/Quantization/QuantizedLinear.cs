using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Quantization;

namespace VisualGen.Exporter.Quantization;

/// <summary>
/// A quantized linear as explicit graph ops: the weight is dequantized in the graph (FP8: DequantizeLinear of the
/// float8e4m3fn codes by the per-tensor scale; FP8_BLOCK_SCALES: the codes cast to float32 times their 128×128 block's
/// scale; NVFP4: the nibbles unpacked with BitwiseAnd/BitShift, looked up in the E2M1 table, times float32(block scale)
/// · scale_2), transposed to [in, out] and multiplied; an FP8 static <c>input_scale</c> fake-quantizes the input first
/// (QuantizeLinear to float8e4m3fn, round to nearest even and saturate, then DequantizeLinear). Every product is the
/// one the quantizers' dequant computes, so ONNX Runtime CPU runs it exactly as the fake-quant reference does; a
/// backend with FP8/FP4 GEMMs recognizes the pattern.
/// </summary>
public sealed class QuantizedLinear
{
    /// <summary>The values of the 16 E2M1 codes (code 8, "−0", is +0 as the quantizers decode it).</summary>
    static readonly float[] E2M1Values = Enumerable.Range(0, 16).Select(c => E2M1.Decode((byte)c)).ToArray();

    readonly Tensor _weight;
    readonly float? _inputScale;

    public QuantizedLinear(StoredWeight weight, float? inputScale)
    {
        _inputScale = inputScale;
        _weight = Dequantize(weight).Transpose(1, 0);
    }

    /// <summary>x (…, in) → x Wᵀ (…, out), without the bias.</summary>
    public Tensor MatMul(Tensor x)
    {
        if (_inputScale is { } s) x = FakeQuantizeE4M3(x, s);
        return x.MatMul(_weight);
    }

    static Tensor FakeQuantizeE4M3(Tensor x, float scale)
    {
        var t = x.Tracer;
        var s = t.Scalar(scale);
        var zero = t.Initializer($"e4m3_zero_{t.Graph.Initializers.Count}", TensorDType.F8E4M3, [], new InlineData([0]));
        var q = t.Op("QuantizeLinear", [x, s, zero], new() { ["saturate"] = 1L }, TensorDType.F8E4M3);
        return t.Op("DequantizeLinear", [q, s], outType: TensorDType.F32);
    }

    /// <summary>The float32 [out, in] weight.</summary>
    static Tensor Dequantize(StoredWeight w)
    {
        var t = w.Codes.Tracer;
        int rows = w.OutFeatures, columns = w.InFeatures;
        if (w.Algo == QuantAlgo.Fp8)
            return t.Op("DequantizeLinear", [w.Codes, w.Scales], outType: TensorDType.F32);
        if (w.Algo == QuantAlgo.Fp8Block)
        {
            int b = Fp8BlockScheme.BlockSize, br = rows / b, bc = columns / b;
            return (w.Codes.Cast(TensorDType.F32).Reshape(br, b, bc, b) * w.Scales).Reshape(rows, columns);
        }
        // NVFP4: byte = (odd << 4) | even
        var packed = w.Codes;
        var low = t.Op("BitwiseAnd", [packed, ByteConst(t, 0x0f)]);
        var high = t.Op("BitShift", [packed, ByteConst(t, 4)], new() { ["direction"] = "RIGHT" });
        var codes = Tensor.Concat(-1, low.Unsqueeze(-1), high.Unsqueeze(-1)).Reshape(rows, columns).Cast(TensorDType.I64);
        var values = t.Const(E2M1Values, 16).Gather(codes, 0);
        int blocks = columns / Nvfp4Scheme.BlockSize;
        var step = w.BlockScales!.Cast(TensorDType.F32) * w.Scales;
        return (values.Reshape(rows, blocks, Nvfp4Scheme.BlockSize) * step.Unsqueeze(-1)).Reshape(rows, columns);
    }

    static Tensor ByteConst(Tracer t, byte value) =>
        t.Initializer($"u8_{value}_{t.Graph.Initializers.Count}", TensorDType.U8, [], new InlineData([value]));
}
