using System.Globalization;
using System.Numerics;

namespace VisualGen.Tokenizers.Text;

/// <summary>Python's fixed-point float formatting (<c>f"{x:.Nf}"</c>): the exact binary value of the double rounded to N
/// decimals, ties to even (so 0.25 → "0.2", where .NET's "F1" gives "0.3").</summary>
public static class PythonFormat
{
    public static string Fixed(double value, int decimals)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(decimals);
        if (double.IsNaN(value)) return "nan";
        if (double.IsInfinity(value)) return value > 0 ? "inf" : "-inf";
        bool negative = double.IsNegative(value);
        long bits = BitConverter.DoubleToInt64Bits(Math.Abs(value));
        int exponent = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xFFFFFFFFFFFFFL;
        BigInteger mantissa = exponent == 0 ? fraction : fraction | (1L << 52);
        int power = (exponent == 0 ? 1 : exponent) - 1075;   // value = mantissa · 2^power

        BigInteger scaled = mantissa * BigInteger.Pow(10, decimals);
        BigInteger digits;
        if (power >= 0) digits = scaled << power;
        else
        {
            var denominator = BigInteger.One << -power;
            digits = BigInteger.DivRem(scaled, denominator, out var remainder);
            int half = (remainder * 2).CompareTo(denominator);
            if (half > 0 || (half == 0 && !digits.IsEven)) digits += 1;
        }
        string s = digits.ToString(CultureInfo.InvariantCulture).PadLeft(decimals + 1, '0');
        if (decimals > 0) s = s[..^decimals] + "." + s[^decimals..];
        return negative ? "-" + s : s;
    }
}
