using VisualGen.Parallelism;

namespace VisualGen.Tests.Parallelism;

/// <summary>Tensor parallelism's column/row split of a feed-forward pair with simulated ranks against the unsplit one.</summary>
public class TensorParallelSplitTests
{
    static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1))];
    }

    /// <summary>x [rows, in] · Wᵀ ([out, in]) + b, float64 sums.</summary>
    static float[] Linear(float[] x, float[] w, float[]? b, int inF, int outF)
    {
        int rows = x.Length / inF;
        var y = new float[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double acc = b?[o] ?? 0;
                for (int i = 0; i < inF; i++) acc += x[r * inF + i] * (double)w[o * inF + i];
                y[r * outF + o] = (float)acc;
            }
        return y;
    }

    static float[] Gelu(float[] x) => [.. x.Select(v => (float)(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)))))];

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void A_column_then_row_parallel_feed_forward_sums_to_the_unsplit_one(int ranks)
    {
        const int rows = 5, dim = 12, hidden = 32;
        float[] x = Random(rows * dim, 1), w1 = Random(hidden * dim, 2), b1 = Random(hidden, 3), w2 = Random(dim * hidden, 4), b2 = Random(dim, 5);
        var want = Linear(Gelu(Linear(x, w1, b1, dim, hidden)), w2, b2, hidden, dim);

        var sum = new double[rows * dim];
        for (int r = 0; r < ranks; r++)
        {
            var (w1r, b1r) = TensorParallelSplit.Column(w1, b1, hidden, dim, ranks, r);
            var h = Gelu(Linear(x, w1r, b1r, dim, hidden / ranks));           // this rank's slice of the hidden features
            var partial = Linear(h, TensorParallelSplit.Row(w2, dim, hidden, ranks, r), null, hidden / ranks, dim);
            for (int i = 0; i < sum.Length; i++) sum[i] += partial[i];         // the all-reduce
        }
        for (int i = 0; i < sum.Length; i++) Assert.Equal(want[i], (float)(sum[i] + b2[i % dim]), 1e-5f);
    }

    [Fact]
    public void A_degree_that_does_not_divide_the_features_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => TensorParallelSplit.Column(new float[30], null, 10, 3, 4, 0));
        Assert.Contains("tp_size 4 does not divide the linear's 10 output features", e.Message);
    }
}
