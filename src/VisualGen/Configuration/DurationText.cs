using System.Globalization;

namespace VisualGen.Configuration;

/// <summary>A positive duration as flags write it: a number with a unit s, m, h or d ("90s", "24h", "7d"; "0.5s").</summary>
public static class DurationText
{
    public const string Expected = "a positive duration with a unit s, m, h or d (for example 24h or 7d)";

    /// <summary>The duration, or null when <paramref name="text"/> is not one (or is zero, negative, or over a century).</summary>
    public static TimeSpan? TryParse(string text)
    {
        double unit = text.Length == 0 ? 0 : text[^1] switch { 's' => 1, 'm' => 60, 'h' => 3600, 'd' => 86400, _ => 0 };
        if (unit == 0 || !double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out double n) || !(n > 0)
            || n * unit > 100L * 365 * 86400)
            return null;
        return TimeSpan.FromSeconds(n * unit);
    }
}
