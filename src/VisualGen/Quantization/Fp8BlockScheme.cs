namespace VisualGen.Quantization;

/// <summary>
/// <c>fp8_block</c>: FP8 E4M3 weights with one scale per 128×128 block (ModelOpt <c>FP8_BLOCK_SCALES</c>; rows =
/// out, columns = in; the last blocks are as if zero-padded, which leaves their amax as it is). Each block's
/// s = <see cref="Fp8WeightScale"/> of its amax; q = e4m3(x / s) (one float32 division); dequant = q·s.
/// Parts: <c>q</c> (U8 [out, in]), <c>scale</c> (F32 [⌈out/128⌉, ⌈in/128⌉]), <c>dequant</c> (F32 [out, in]).
/// </summary>
public sealed class Fp8BlockScheme : IQuantizationScheme
{
    public const int BlockSize = 128;

    public string Name => "fp8_block";

    public string Summary => "FP8 E4M3 weights, one scale per 128x128 block: q, scale, dequant";

    public QuantizedTensor Quantize(SourceTensor tensor)
    {
        tensor.RequireMatrix(Name);
        int rows = tensor.Rows, columns = tensor.Columns;
        int blockRows = Blocks(rows), blockColumns = Blocks(columns);
        var x = tensor.Values;
        var q = new byte[x.Length];
        var dequant = new float[x.Length];
        var scales = new float[blockRows * blockColumns];
        ParallelRanges.For(blockRows, 1, (firstRow, lastRow) =>
        {
            for (int br = firstRow; br < lastRow; br++)
            for (int bc = 0; bc < blockColumns; bc++)
            {
                int r0 = br * BlockSize, r1 = Math.Min(rows, r0 + BlockSize);
                int c0 = bc * BlockSize, c1 = Math.Min(columns, c0 + BlockSize);
                float amax = 0;
                for (int r = r0; r < r1; r++) amax = MathF.Max(amax, AbsMax.Of(x.AsSpan(r * columns + c0, c1 - c0)));
                float scale = Fp8WeightScale.For(amax, tensor);
                scales[br * blockColumns + bc] = scale;
                for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++)
                {
                    int i = r * columns + c;
                    q[i] = E4M3.Encode(x[i] / scale);
                    dequant[i] = E4M3.Decode(q[i]) * scale;
                }
            }
        });
        return new QuantizedTensor(tensor.Name, Name)
            .AddBytes("q", tensor.Shape, q)
            .AddFloat32("scale", [blockRows, blockColumns], scales)
            .AddFloat32("dequant", tensor.Shape, dequant);
    }

    static int Blocks(int n) => (n + BlockSize - 1) / BlockSize;
}
