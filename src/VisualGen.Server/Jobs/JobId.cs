using System.Security.Cryptography;

namespace VisualGen.Server.Jobs;

/// <summary>
/// Opaque ids: a prefix and 32 lowercase hex digits from a CSPRNG. Anything else is rejected before
/// it could reach a file name, so an id can never walk the file system.
/// </summary>
public static class JobId
{
    public const string VideoPrefix = "video_";
    public const string ImagePrefix = "img_";
    const int HexDigits = 32;

    public static string New(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(HexDigits / 2));

    public static bool IsValid(string? id, string prefix)
    {
        if (id is null || id.Length != prefix.Length + HexDigits || !id.StartsWith(prefix, StringComparison.Ordinal)) return false;
        foreach (char c in id.AsSpan(prefix.Length))
            if (!char.IsAsciiDigit(c) && c is not (>= 'a' and <= 'f')) return false;
        return true;
    }
}
