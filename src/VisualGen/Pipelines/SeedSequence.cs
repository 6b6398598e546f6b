namespace VisualGen.Pipelines;

/// <summary>
/// Several generations of one request (the CLI's prompt file and --num-images-per-prompt, the server's <c>n</c>):
/// generation k (from 0) runs at seed + k, so its output equals a single generation at that seed. The seeds never wrap
/// past <see cref="long.MaxValue"/> to a negative seed, which no request can give: a first seed above
/// <see cref="MaxFirstSeed"/> is refused, each caller in its own words (the CLI naming --seed, the server 'seed').
/// </summary>
public static class SeedSequence
{
    /// <summary>The largest first seed of <paramref name="count"/> generations (at least 1): the last runs at
    /// <see cref="long.MaxValue"/>.</summary>
    public static long MaxFirstSeed(int count) => long.MaxValue - (count - 1);

    /// <summary>Whether <paramref name="count"/> generations from <paramref name="first"/> all have a seed (null, the
    /// default seed, always does).</summary>
    public static bool Fits(long? first, int count) => !(first > MaxFirstSeed(count));

    /// <summary>The seed of generation <paramref name="k"/> of those from <paramref name="first"/>. Checked: a caller that
    /// skipped <see cref="Fits"/> gets an OverflowException, never a wrapped negative seed.</summary>
    public static long Of(long first, int k) => checked(first + k);
}
