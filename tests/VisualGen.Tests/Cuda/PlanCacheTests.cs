using VisualGen.Engines.Cuda.Runtime;

namespace VisualGen.Tests.Cuda;

public class PlanCacheTests
{
    sealed class FakePlan(long bytes) : IDisposable
    {
        public long Bytes { get; } = bytes;
        public bool Disposed { get; private set; }
        public void Dispose() => Disposed = true;
    }

    [Fact]
    public void Least_recently_used_plans_are_evicted_and_disposed_past_the_memory_cap()
    {
        var cache = new PlanCache<FakePlan>(p => p.Bytes) { MaxBytes = 100 };
        var a = new FakePlan(40); var b = new FakePlan(40); var c = new FakePlan(40);
        cache.Add("a", a);
        cache.Add("b", b);
        Assert.True(cache.TryGet("a", out var got) && got == a);   // a is now the most recent
        cache.Add("c", c);                                          // 120 > 100: b (least recent) goes
        Assert.True(b.Disposed);
        Assert.False(a.Disposed || c.Disposed);
        Assert.False(cache.TryGet("b", out _));
        Assert.Equal(80, cache.Bytes);
        Assert.Equal(1, cache.Evictions);
    }

    [Fact]
    public void A_plan_larger_than_the_cap_still_runs_and_pushes_the_others_out()
    {
        var cache = new PlanCache<FakePlan>(p => p.Bytes) { MaxBytes = 100 };
        var small = new FakePlan(30); var huge = new FakePlan(500);
        cache.Add("small", small);
        cache.Add("huge", huge);
        Assert.True(small.Disposed);
        Assert.False(huge.Disposed);
        Assert.True(cache.TryGet("huge", out _));
        Assert.Equal(500, cache.Bytes);
        cache.Clear();
        Assert.True(huge.Disposed);
        Assert.Equal(0, cache.Count);
    }
}
