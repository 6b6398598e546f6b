using VisualGen.Checkpoints;
using VisualGen.Quantization;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>
/// Every scheme against ../shared/conformance/quant_ops bit for bit: e4m3 codes, packed e2m1 and e4m3 block scales
/// byte for byte, float32 scales and dequantized values bit for bit. The fixture's inputs (w1, w2, w3_ties, x) are
/// bf16 values stored as F32; they are quantized as the bf16 tensors they are (quant_check.py passes them so too).
/// </summary>
public class QuantOpsConformanceTests
{
    public static TheoryData<string> Schemes => new(QuantizationSchemeRegistry.CreateDefault().Names);

    [ConformanceTheory]
    [MemberData(nameof(Schemes))]
    public void Every_golden_output_matches_bit_for_bit(string name)
    {
        Assert.True(QuantizationSchemeRegistry.CreateDefault().TryGet(name, out var scheme));
        using var golden = SafeTensorsFile.Open(Path.Combine(Fixtures.Family("quant_ops"), "golden.safetensors"));
        int compared = 0;
        foreach (string input in golden.Names.Where(n => !n.Contains('.')))
        {
            var expected = golden.Names.Where(n => n.StartsWith($"{input}.{name}.", StringComparison.Ordinal)).ToList();
            if (expected.Count == 0) continue;
            var quantized = scheme.Quantize(AsBf16(golden, input)).Tensors.ToDictionary(t => t.Name);
            foreach (string part in expected)
            {
                var info = golden.Info(part);
                Assert.True(quantized.TryGetValue(part, out var got), $"{part} not produced");
                Assert.Equal(info.DType, got.DType);
                Assert.Equal(info.Shape, got.Shape);
                int differing = Differences(golden.GetBytes(part), got.Bytes.Span, info.DType.SizeOf());
                Assert.True(differing == 0, $"{part}: {differing} of {info.ElementCount} elements differ");
                compared++;
            }
        }
        Assert.True(compared >= 2, $"the fixture has no outputs of {name}");
    }

    static SourceTensor AsBf16(SafeTensorsFile golden, string name)
    {
        var info = golden.Info(name);
        var values = golden.ReadFloat32(name);
        Assert.All(values, v => Assert.Equal(0, BitConverter.SingleToInt32Bits(v) & 0xffff));
        return new SourceTensor(name, TensorDType.BF16, info.Shape, values);
    }

    static int Differences(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, int elementSize)
    {
        int n = 0;
        for (int i = 0; i < expected.Length; i += elementSize)
            if (!expected.Slice(i, elementSize).SequenceEqual(actual.Slice(i, elementSize))) n++;
        return n;
    }
}
