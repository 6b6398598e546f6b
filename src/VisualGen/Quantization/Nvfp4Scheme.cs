namespace VisualGen.Quantization;

/// <summary>
/// <c>nvfp4</c>: NVFP4 weights as NVIDIA ModelOpt makes them. scale_2 = amax/(6·448) (float32, per tensor); blocks of
/// 16 consecutive elements along the input dimension each get an e4m3 scale e4m3(amax_b/(6·scale_2)), with 1 for a
/// block whose quotient is 0; each element is the <see cref="E2M1"/> code of x/(block_scale·scale_2) (the product
/// rounded to float32, then one division); dequant = value(code)·(block_scale·scale_2). Two codes share a byte:
/// the even element in the low nibble, the odd one in the high nibble.
/// Parts: <c>packed</c> (U8 [out, in/2]), <c>block_scale</c> (U8 e4m3 [out, in/16]), <c>scale_2</c> (F32 scalar),
/// <c>dequant</c> (F32 [out, in]). The input dimension must be a multiple of 16.
/// </summary>
public sealed class Nvfp4Scheme : IQuantizationScheme
{
    public const int BlockSize = 16;

    /// <summary>6 · 448: the largest E2M1 magnitude times the largest e4m3 block scale.</summary>
    const float Range = 6f * E4M3.Max;

    public string Name => "nvfp4";

    public string Summary => "NVFP4 (E2M1, e4m3 scale per 16 inputs, fp32 scale_2): packed, block_scale, scale_2, dequant";

    public QuantizedTensor Quantize(SourceTensor tensor) => Quantize(tensor, ParallelRanges.AbsMax(tensor.Values));

    /// <summary>Quantizes with scale_2 = <paramref name="tensorAmax"/>/(6·448): the tensor's own amax, or the largest of
    /// linears that share one scale_2 (ModelOpt gives q, k and v one, for a fused QKV GEMM).</summary>
    public QuantizedTensor Quantize(SourceTensor tensor, float tensorAmax)
    {
        tensor.RequireMatrix(Name);
        int rows = tensor.Rows, columns = tensor.Columns;
        if (columns % BlockSize != 0)
            throw new QuantizationException($"tensor '{tensor.Name}' has {columns} input columns (shape [{rows}, {columns}]); {Name} needs a multiple of {BlockSize}");
        int blocksPerRow = columns / BlockSize;
        var x = tensor.Values;
        float scale2 = tensorAmax / Range;
        float blockRange = 6f * scale2;
        var packed = new byte[x.Length / 2];
        var blockScales = new byte[rows * blocksPerRow];
        var dequant = new float[x.Length];
        ParallelRanges.For(blockScales.Length, 4096, (first, last) =>
        {
            Span<byte> codes = stackalloc byte[BlockSize];
            for (int b = first; b < last; b++)
            {
                int start = b * BlockSize;
                float amax = AbsMax.Of(x.AsSpan(start, BlockSize));
                // an all-zero block (or tensor, where blockRange is 0 too) gets scale 1 rather than 0/0
                float ratio = amax == 0 ? 0 : amax / blockRange;
                byte blockScale = E4M3.Encode(ratio == 0 ? 1f : ratio);
                blockScales[b] = blockScale;
                float step = E4M3.Decode(blockScale) * scale2;
                for (int k = 0; k < BlockSize; k++)
                {
                    float v = x[start + k];
                    codes[k] = E2M1.Encode(v == 0 ? 0 : v / step);
                    dequant[start + k] = E2M1.Decode(codes[k]) * step;
                }
                for (int k = 0; k < BlockSize; k += 2) packed[(start + k) / 2] = (byte)(codes[k + 1] << 4 | codes[k]);
            }
        });
        return new QuantizedTensor(tensor.Name, Name)
            .AddBytes("packed", [rows, columns / 2], packed)
            .AddBytes("block_scale", [rows, blocksPerRow], blockScales)
            .AddFloat32("scale_2", [], [scale2])
            .AddFloat32("dequant", tensor.Shape, dequant);
    }
}
