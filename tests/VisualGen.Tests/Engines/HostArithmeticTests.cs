using VisualGen.Engines;
using VisualGen.Tensors;

namespace VisualGen.Tests.Engines;

/// <summary>The host <see cref="ITensorArithmetic"/> (what the denoising loop runs on ONNX Runtime CPU): values against
/// hand-computed ones, offsets, in-place updates, float64 accumulation, the row norm rescale against a direct computation,
/// and the argument checks every backend shares.</summary>
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
    public void Rescales_each_row_to_the_norm_of_the_reference_row()
    {
        const int rows = 6, length = 13;
        var rng = new Random(4);
        float[] Random(double scale) => Enumerable.Range(0, rows * length).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();
        float[] source = Random(1), reference = Random(5);
        var o = Math.Allocate([rows, length]);
        Math.RescaleRowNorms(o, T(source), T(reference), length);
        var actual = F(o);
        for (int r = 0; r < rows; r++)
        {
            double sourceNorm = 0, referenceNorm = 0, outNorm = 0;
            for (int i = r * length; i < (r + 1) * length; i++)
            {
                sourceNorm += (double)source[i] * source[i];
                referenceNorm += (double)reference[i] * reference[i];
                outNorm += (double)actual[i] * actual[i];
            }
            double ratio = System.Math.Sqrt(referenceNorm / sourceNorm);
            for (int i = r * length; i < (r + 1) * length; i++)
                Assert.True(System.Math.Abs(source[i] * ratio - actual[i]) <= 1e-6 * System.Math.Abs(source[i] * ratio) + 1e-7, $"row {r} element {i}");
            Assert.Equal(System.Math.Sqrt(referenceNorm), System.Math.Sqrt(outNorm), 4);
        }
        // in place over the source, and into the reference itself (T wraps its array: copies keep the inputs as they were)
        var s = T((float[])source.Clone());
        Math.RescaleRowNorms(s, s, T(reference), length);
        Assert.Equal(actual, F(s));
        var rf = T((float[])reference.Clone());
        Math.RescaleRowNorms(rf, T(source), rf, length);
        Assert.Equal(actual, F(rf));
        // a zero source row has no direction to keep: non-finite, as torch gives
        var zero = T(new float[length]);
        var oz = Math.Allocate([length]);
        Math.RescaleRowNorms(oz, zero, T(reference[..length]), length);
        Assert.All(F(oz), v => Assert.True(float.IsNaN(v)));
    }

    [Fact]
    public void Refuses_rows_that_do_not_divide_or_tensors_that_differ_in_size()
    {
        var a = T(1, 2, 3, 4, 5, 6);
        var e = Assert.Throws<EngineException>(() => Math.RescaleRowNorms(a, a, a, 4));
        Assert.Equal("row norm rescale: the source's 6 elements are not whole rows of 4", e.Message);
        e = Assert.Throws<EngineException>(() => Math.RescaleRowNorms(a, a, T(1, 2, 3), 3));
        Assert.Equal("row norm rescale: reference has 3 elements, the source 6", e.Message);
        e = Assert.Throws<EngineException>(() => Math.RescaleRowNorms(a, a, a, 0));
        Assert.Contains("not whole rows of 0", e.Message);
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

    [Fact]
    public void L1_distance_sums_in_float64_over_parallel_ranges()
    {
        // hand-computed: |1-2| + |-3-1| + |0.5-(-0.5)| = 6, |2| + |1| + |-0.5| = 3.5
        Assert.Equal((6.0, 3.5), Math.L1Distance(T(1, -3, 0.5f), T(2, 1, -0.5f)));
        // more elements than one range: against a direct float64 sum
        var rng = new Random(5);
        var a = Enumerable.Range(0, 1 << 19).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
        var b = Enumerable.Range(0, 1 << 19).Select(_ => (float)(rng.NextDouble() * 4 - 2) + 1e7f * (rng.Next(1000) == 0 ? 1 : 0)).ToArray();
        double d = 0, r = 0;
        for (int i = 0; i < a.Length; i++) { d += System.Math.Abs((double)a[i] - b[i]); r += System.Math.Abs((double)b[i]); }
        var (dd, rr) = Math.L1Distance(new HostResidentTensor(HostTensor.Float32(a, a.Length)), new HostResidentTensor(HostTensor.Float32(b, b.Length)));
        Assert.Equal(d, dd, 1e-12 * d);
        Assert.Equal(r, rr, 1e-12 * r);
        var e = Assert.Throws<EngineException>(() => Math.L1Distance(T(1, 2), T(1, 2, 3)));
        Assert.Equal("L1 distance: 2 and 3 elements (equal, positive counts needed)", e.Message);
    }
}
