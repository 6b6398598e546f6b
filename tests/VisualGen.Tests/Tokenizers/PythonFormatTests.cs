using VisualGen.Tokenizers.Text;

namespace VisualGen.Tests.Tokenizers;

/// <summary>Python's f"{x:.Nf}" (the exact binary value, ties to even), as the Cosmos3 duration template formats.</summary>
public class PythonFormatTests
{
    [Theory]
    [InlineData(0.375, 1, "0.4")]       // 9 frames at 24 fps
    [InlineData(0.25, 1, "0.2")]        // an exact tie: to even (.NET's "F1" gives 0.3)
    [InlineData(0.75, 1, "0.8")]
    [InlineData(0.35, 1, "0.3")]        // 0.34999999999999997…
    [InlineData(0.45, 1, "0.5")]        // 0.4500000000000000111…
    [InlineData(7.875, 1, "7.9")]       // 189 frames at 24 fps
    [InlineData(24.0, 0, "24")]
    [InlineData(2.5, 0, "2")]
    [InlineData(3.5, 0, "4")]
    [InlineData(23.976, 0, "24")]
    [InlineData(1e-9, 1, "0.0")]
    [InlineData(-1.25, 1, "-1.2")]
    [InlineData(12345.678, 2, "12345.68")]
    public void Formats_as_python(double value, int decimals, string expected) =>
        Assert.Equal(expected, PythonFormat.Fixed(value, decimals));
}
