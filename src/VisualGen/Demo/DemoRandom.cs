using System.Text;

namespace VisualGen.Demo;

/// <summary>
/// xoshiro256** (Blackman and Vigna), seeded through splitmix64: a generator whose output is fixed by its
/// definition, unlike <see cref="System.Random"/>, whose sequence may change between .NET versions. The demo
/// model's weights must be byte-identical on every machine and runtime.
/// </summary>
internal sealed class DemoRandom
{
    ulong _s0, _s1, _s2, _s3;

    public DemoRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x); _s1 = SplitMix64(ref x); _s2 = SplitMix64(ref x); _s3 = SplitMix64(ref x);
    }

    /// <summary>A generator for one named stream (a tensor name): its values do not depend on the order in which streams are drawn.</summary>
    public static DemoRandom ForStream(ulong seed, string stream) => new(seed ^ Fnv1a64(stream));

    public ulong NextUInt64()
    {
        ulong result = RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextUnit() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [center − halfWidth, center + halfWidth).</summary>
    public double NextUniform(double center, double halfWidth) => center + halfWidth * (2 * NextUnit() - 1);

    static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));

    static ulong Fnv1a64(string s)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(s)) { h ^= b; h *= 0x100000001B3UL; }
        return h;
    }
}
