using System.Buffers.Binary;
using VisualGen.Media;

namespace VisualGen.Tests.Media;

public class WavWriterTests
{
    [Fact]
    public void Header_fields_and_interleaved_float_samples_follow_the_wave_format()
    {
        float[] left = [0f, 0.5f, -1f], right = [0.25f, -0.75f, 1f];
        using var ms = new MemoryStream();
        WavWriter.Write(ms, [left, right], 16000);
        var b = ms.ToArray();
        Assert.Equal(58 + 3 * 2 * 4, b.Length);
        Assert.Equal("RIFF", System.Text.Encoding.ASCII.GetString(b, 0, 4));
        Assert.Equal((uint)(b.Length - 8), BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(4)));
        Assert.Equal("WAVEfmt ", System.Text.Encoding.ASCII.GetString(b, 8, 8));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(20)));        // IEEE float
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(22)));        // channels
        Assert.Equal(16000u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(24)));
        Assert.Equal(16000u * 8, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(28)));
        Assert.Equal(8, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(32)));
        Assert.Equal(32, BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(34)));
        Assert.Equal("fact", System.Text.Encoding.ASCII.GetString(b, 38, 4));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(46)));
        Assert.Equal("data", System.Text.Encoding.ASCII.GetString(b, 50, 4));
        Assert.Equal(24u, BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(54)));
        float[] expected = [0f, 0.25f, 0.5f, -0.75f, -1f, 1f];
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(58 + 4 * i)));
    }

    [Fact]
    public void Bad_input_is_named()
    {
        using var ms = new MemoryStream();
        Assert.Contains("channel 1", Assert.Throws<ArgumentException>(() => WavWriter.Write(ms, [new float[3], new float[2]], 16000)).Message);
        Assert.Contains("positive", Assert.Throws<ArgumentOutOfRangeException>(() => WavWriter.Write(ms, [new float[3]], 0)).Message);
        Assert.Contains("1 to 64", Assert.Throws<ArgumentException>(() => WavWriter.Write(ms, Array.Empty<float[]>(), 16000)).Message);
    }
}
