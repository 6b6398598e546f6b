namespace VisualGen.Quantization;

/// <summary>
/// <c>fp8_1x128</c>: FP8 E4M3 activations with one scale per token per 128 channels (the last group may be shorter).
/// Per group: qs = 448 · (1/amax), both steps rounded to float32 (1 when amax is 0); q = e4m3(x · qs);
/// dequant_scale = 1/qs. The reference computes 448/amax through the reciprocal: the one-step quotient differs from it
/// by an ulp for some amax, which moves exact e4m3 ties (42 → 40 or 44) and the stored dequant_scale.
/// Parts: <c>q</c> (U8 [tokens, channels]), <c>dequant_scale</c> (F32 [tokens, ⌈channels/128⌉]).
/// </summary>
public sealed class Fp8ActivationGroupScheme : IQuantizationScheme
{
    public const int GroupSize = 128;

    public string Name => "fp8_1x128";

    public string Summary => "FP8 E4M3 activations, one scale per token per 128 channels: q, dequant_scale";

    public QuantizedTensor Quantize(SourceTensor tensor)
    {
        tensor.RequireMatrix(Name);
        int tokens = tensor.Rows, channels = tensor.Columns;
        int groups = (channels + GroupSize - 1) / GroupSize;
        var x = tensor.Values;
        var q = new byte[x.Length];
        var dequantScales = new float[tokens * groups];
        for (int t = 0; t < tokens; t++)
        for (int g = 0; g < groups; g++)
        {
            int start = t * channels + g * GroupSize, length = Math.Min(GroupSize, channels - g * GroupSize);
            float amax = AbsMax.Of(x.AsSpan(start, length));
            float qs = amax == 0 ? 1f : E4M3.Max * (1f / amax);
            for (int i = start; i < start + length; i++) q[i] = E4M3.Encode(x[i] * qs);
            dequantScales[t * groups + g] = 1f / qs;
        }
        return new QuantizedTensor(tensor.Name, Name)
            .AddBytes("q", tensor.Shape, q)
            .AddFloat32("dequant_scale", [tokens, groups], dequantScales);
    }
}
