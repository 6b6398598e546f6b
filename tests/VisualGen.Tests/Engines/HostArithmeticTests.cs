using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Engines;

/// <summary>The host <see cref="ITensorArithmetic"/> (what the denoising loop runs on ONNX Runtime CPU): values against
/// hand-computed ones, offsets, in-place updates, float64 accumulation, and the argument checks every backend shares.</summary>
public class HostArithmeticTests
{
    static readonly HostArithmetic Math = HostArithmetic.Instance;

    static IEngineTensor T(params float[] v) => new HostResidentTensor(HostTensor.Float32(v, v.Length));
    static float[] F(IEngineTensor t) => t.ToHost().Floats;

    [Fact]
    public void Combines_with_offsets_and_in_place()
    {
        var a = T(1, 2, 3, 4);
        var b = T(10, 20, 30, 40);
        var o = Math.Allocate([3]);
        // o[i] = 2·a[1 + i] − 0.5·b[i]
        Math.Combine(o, 0, 3, [new LinearTerm(2, a, 1), new LinearTerm(-0.5, b)]);
        Assert.Equal(new[] { -1f, -4f, -7f }, F(o));
        // in place over a's last two elements: a[2 + i] = a[2 + i] + b[2 + i]
        Math.Combine(a, 2, 2, [new LinearTerm(1, a, 2), new LinearTerm(1, b, 2)]);
        Assert.Equal(new[] { 1f, 2f, 33f, 44f }, F(a));
        // Copy and Clone
        var c = Math.Clone(b);
        Math.Copy(c, 0, a, 3, 1);
        Assert.Equal(new[] { 44f, 20f, 30f, 40f }, F(c));
        Assert.Equal(new[] { 10f, 20f, 30f, 40f }, F(b));
    }

    [Fact]
    public void Accumulates_in_float64_and_rounds_once()
    {
        // 1e8 + 1 − 1e8 is 0 in float32 step by step, 1 when the sum is kept in float64
        var x = T(1e8f);
        var one = T(1f);
        var o = Math.Allocate([1]);
        Math.Combine(o, 0, 1, [new LinearTerm(1, x), new LinearTerm(1, one), new LinearTerm(-1, x)]);
        Assert.Equal(1f, F(o)[0]);
    }

    [Fact]
    public void Refuses_bad_ranges_and_term_counts_with_clear_errors()
    {
        var a = T(1, 2, 3);
        var o = Math.Allocate([3]);
        var e = Assert.Throws<EngineException>(() => Math.Combine(o, 1, 3, [new LinearTerm(1, a)]));
        Assert.Equal("linear combination: destination has 3 elements; elements 1..3 are out of range", e.Message);
        e = Assert.Throws<EngineException>(() => Math.Combine(o, 0, 2, [new LinearTerm(1, a, 2)]));
        Assert.Equal("linear combination: term 0 has 3 elements; elements 2..3 are out of range", e.Message);
        e = Assert.Throws<EngineException>(() => Math.Combine(o, 0, 3, Enumerable.Repeat(new LinearTerm(1, a), 9).ToArray()));
        Assert.Equal("a linear combination takes 1..8 terms, got 9", e.Message);
        e = Assert.Throws<EngineException>(() => Math.Combine(o, 0, 0, [new LinearTerm(1, a)]));
        Assert.Contains("positive element count", e.Message);
        var ids = new HostResidentTensor(HostTensor.Int64([1, 2, 3], 3));
        e = Assert.Throws<EngineException>(() => Math.Combine(o, 0, 3, [new LinearTerm(1, ids)]));
        Assert.Equal("linear combination: term 0 is I64, not float32", e.Message);
    }
}
