using VisualGen.Checkpoints;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Checkpoints;

public sealed class SafeTensorsRoundTripTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-rt");

    public void Dispose() => Directory.Delete(_dir, true);

    // Bit patterns with their values from the format definitions (IEEE half, bfloat16, OCP FP8).
    public static TheoryData<string, byte[], double[]> FloatCases => new()
    {
        { "F32", Bytes(BitConverter.GetBytes(1.5f), BitConverter.GetBytes(-0.25f), BitConverter.GetBytes(3.0e-20f)), [1.5, -0.25, 3.0e-20] },
        { "F16", U16(0x3C00, 0xC000, 0x7BFF, 0x0001), [1.0, -2.0, 65504.0, Math.Pow(2, -24)] },
        { "BF16", U16(0x3FC0, 0xC000, 0x4049, 0x7F7F), [1.5, -2.0, 3.140625, 3.3895313892515355e38] },
        { "F8_E4M3", [0x38, 0x40, 0xB8, 0x7E, 0x01], [1.0, 2.0, -1.0, 448.0, Math.Pow(2, -9)] },
        { "F8_E5M2", [0x3C, 0xC0, 0x7B, 0x01, 0x7C], [1.0, -2.0, 57344.0, Math.Pow(2, -16), double.PositiveInfinity] },
    };

    public static TheoryData<string, byte[], long[]> IntCases => new()
    {
        { "I64", Bytes(BitConverter.GetBytes(-5L), BitConverter.GetBytes(long.MaxValue)), [-5, long.MaxValue] },
        { "I32", Bytes(BitConverter.GetBytes(-7), BitConverter.GetBytes(int.MaxValue), BitConverter.GetBytes(3)), [-7, int.MaxValue, 3] },
        { "U8", [0, 200, 255], [0, 200, 255] },
        { "BOOL", [1, 0, 1, 1], [1, 0, 1, 1] },
    };

    static byte[] Bytes(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
    static byte[] U16(params ushort[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    SafeTensorsFile WriteAndOpen(string dtypeName, byte[] bytes, long count)
    {
        Assert.True(TensorDTypes.TryParseSafeTensors(dtypeName, out var dtype));
        string path = Path.Combine(_dir, dtypeName + ".safetensors");
        var other = TensorData.Float32("other", [2], [7f, 8f]);
        SafeTensorsWriter.Write(path, [other, new TensorData("t", dtype, [1, count], bytes)], new Dictionary<string, string> { ["format"] = "pt" });
        var f = SafeTensorsFile.Open(path);
        var info = f.Info("t");
        Assert.Equal(dtype, info.DType);
        Assert.Equal([1, count], info.Shape);
        Assert.Equal(bytes, f.GetBytes("t").ToArray());
        Assert.Equal([7f, 8f], f.ReadFloat32("other"));
        Assert.Equal("pt", f.Metadata["format"]);
        return f;
    }

    [Theory]
    [MemberData(nameof(FloatCases))]
    public void FloatTypesRoundTrip(string dtypeName, byte[] bytes, double[] values)
    {
        using var f = WriteAndOpen(dtypeName, bytes, values.Length);
        Assert.Equal(values.Select(v => (float)v).ToArray(), f.ReadFloat32("t"));
    }

    [Theory]
    [MemberData(nameof(IntCases))]
    public void IntegerTypesRoundTrip(string dtypeName, byte[] bytes, long[] values)
    {
        using var f = WriteAndOpen(dtypeName, bytes, values.Length);
        Assert.Equal(values, f.ReadInt64("t"));
    }

    [Fact]
    public void E4M3NaNPattern()
    {
        using var f = WriteAndOpen("F8_E4M3", [0x7F, 0xFF], 2);
        Assert.All(f.ReadFloat32("t"), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void EveryDTypeNameParsesBackToItself()
    {
        foreach (var t in Enum.GetValues<TensorDType>())
        {
            Assert.True(TensorDTypes.TryParseSafeTensors(t.SafeTensorsName(), out var back));
            Assert.Equal(t, back);
        }
    }
}
