namespace VisualGen.Quantization;

/// <summary>
/// <c>fp8</c>: FP8 E4M3 with one scale for the whole tensor (ModelOpt <c>FP8</c>). s = <see cref="Fp8WeightScale"/>
/// of the tensor's amax; q = e4m3(x · (1/s)), the reciprocal and the product each rounded to float32; dequant = q·s.
/// Parts: <c>q</c> (U8 e4m3 codes, the tensor's shape), <c>scale</c> (F32 scalar), <c>dequant</c> (F32). Any rank.
/// </summary>
public sealed class Fp8PerTensorScheme : IQuantizationScheme
{
    public string Name => "fp8";

    public string Summary => "FP8 E4M3, one scale per tensor: q, scale, dequant";

    public QuantizedTensor Quantize(SourceTensor tensor)
    {
        var x = tensor.Values;
        float scale = Fp8WeightScale.For(ParallelRanges.AbsMax(x), tensor);
        float inverse = 1f / scale;
        var q = new byte[x.Length];
        var dequant = new float[q.Length];
        ParallelRanges.For(q.Length, 1 << 16, (start, end) =>
        {
            for (int i = start; i < end; i++)
            {
                q[i] = E4M3.Encode(x[i] * inverse);
                dequant[i] = E4M3.Decode(q[i]) * scale;
            }
        });
        return new QuantizedTensor(tensor.Name, Name)
            .AddBytes("q", tensor.Shape, q)
            .AddFloat32("scale", [], [scale])
            .AddFloat32("dequant", tensor.Shape, dequant);
    }
}
