using VisualGen.Demo;

namespace VisualGen.Tests.Demo;

public class DemoRandomTests
{
    [Fact]
    public void Xoshiro256StarStar_seeded_by_splitmix64_matches_the_reference_algorithm()
    {
        // Reference: the published C code of splitmix64 (seeding) and xoshiro256** run in Python for seed 12345.
        var random = new DemoRandom(12345);
        Assert.Equal(0xbe6a36374160d49bUL, random.NextUInt64());
        Assert.Equal(0x214aaa0637a688c6UL, random.NextUInt64());
        Assert.Equal(0xf69d16de9954d388UL, random.NextUInt64());
    }

    [Fact]
    public void Streams_depend_on_their_name_not_on_drawing_order()
    {
        var a1 = DemoRandom.ForStream(7, "a").NextUInt64();
        var b = DemoRandom.ForStream(7, "b").NextUInt64();
        var a2 = DemoRandom.ForStream(7, "a").NextUInt64();
        Assert.Equal(a1, a2);
        Assert.NotEqual(a1, b);
        Assert.NotEqual(a1, DemoRandom.ForStream(8, "a").NextUInt64());
    }

    [Fact]
    public void Uniform_values_stay_in_their_interval_and_fill_it()
    {
        var random = new DemoRandom(1);
        var values = Enumerable.Range(0, 10000).Select(_ => random.NextUniform(1.0, 0.05)).ToArray();
        Assert.All(values, v => Assert.InRange(v, 0.95, 1.05));
        Assert.True(values.Min() < 0.951 && values.Max() > 1.049, $"range [{values.Min()}, {values.Max()}]");
        Assert.InRange(values.Average(), 0.999, 1.001);
    }
}
