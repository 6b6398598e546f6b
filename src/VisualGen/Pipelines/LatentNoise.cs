namespace VisualGen.Pipelines;

/// <summary>
/// Seeded standard-normal initial latents. The generator is our own (xoshiro256** + Box–Muller): the same seed gives
/// the same latents on every machine and backend, but NOT the latents PyTorch's generator gives for that seed.
/// To reproduce a PyTorch run exactly, pass its latents explicitly (--latents).
/// </summary>
public static class LatentNoise
{
    public static float[] Gaussian(long count, long seed)
    {
        var rng = new Xoshiro(seed);
        var r = new float[count];
        for (long i = 0; i < count; i += 2)
        {
            double u1 = rng.NextDouble(), u2 = rng.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - u1));
            r[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < count) r[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
        return r;
    }

    sealed class Xoshiro
    {
        ulong _s0, _s1, _s2, _s3;

        public Xoshiro(long seed)
        {
            ulong x = (ulong)seed;
            _s0 = SplitMix(ref x); _s1 = SplitMix(ref x); _s2 = SplitMix(ref x); _s3 = SplitMix(ref x);
        }

        static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
            return z ^ (z >> 31);
        }

        public double NextDouble()
        {
            ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
            ulong t = _s1 << 17;
            _s2 ^= _s0; _s3 ^= _s1; _s1 ^= _s2; _s0 ^= _s3; _s2 ^= t; _s3 = ulong.RotateLeft(_s3, 45);
            return (result >> 11) * (1.0 / (1UL << 53));
        }
    }
}
