using VisualGen.Pipelines;

namespace VisualGen.Tests.Pipelines;

/// <summary>Generation k runs at seed + k: the largest first seed of n generations is 2^63-1 − (n−1), one more is
/// refused, and no seed wraps to a negative one.</summary>
public class SeedSequenceTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(10000)]
    public void The_largest_first_seed_puts_the_last_generation_at_the_largest_seed_and_one_more_is_refused(int n)
    {
        long largest = long.MaxValue - (n - 1);
        Assert.Equal(largest, SeedSequence.MaxFirstSeed(n));
        Assert.True(SeedSequence.Fits(largest, n));
        Assert.False(SeedSequence.Fits(largest + 1, n));
        Assert.False(SeedSequence.Fits(long.MaxValue, n));
        Assert.Equal(long.MaxValue, SeedSequence.Of(largest, n - 1));
    }

    [Fact]
    public void One_generation_takes_every_seed_up_to_the_largest_and_the_default()
    {
        Assert.Equal(long.MaxValue, SeedSequence.MaxFirstSeed(1));
        Assert.True(SeedSequence.Fits(long.MaxValue, 1));
        Assert.True(SeedSequence.Fits(0, 1));
        Assert.True(SeedSequence.Fits(null, 1));
        Assert.True(SeedSequence.Fits(null, 10000));
    }

    [Fact]
    public void Generation_k_runs_at_seed_plus_k_and_never_wraps()
    {
        Assert.Equal([40L, 41L, 42L], Enumerable.Range(0, 3).Select(k => SeedSequence.Of(40, k)));
        Assert.Equal(long.MaxValue, SeedSequence.Of(long.MaxValue, 0));
        Assert.Throws<OverflowException>(() => SeedSequence.Of(long.MaxValue, 1));
    }
}
