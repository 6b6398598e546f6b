using VisualGen.Parallelism;

namespace VisualGen.Tests.Parallelism;

/// <summary>The sharded attention math of the multi-GPU path with simulated ranks, against unsharded attention (a float64
/// reference): Ulysses' all-to-all (token slices ↔ head slices) and ring attention's blockwise online-softmax merge.</summary>
public class ShardedAttentionTests
{
    const int Heads = 6, D = 8;

    static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2))];
    }

    /// <summary>Softmax attention of q [sq, h, d] over k, v [skv, h, d] (scale 1/√d): the output [sq, h, d] and the
    /// log-sum-exp of the scaled scores [sq, h]; float64 inside.</summary>
    static (float[] Out, float[] Lse) Attention(float[] q, float[] k, float[] v, int h, int d)
    {
        int sq = q.Length / (h * d), skv = k.Length / (h * d);
        var o = new float[sq * h * d];
        var lse = new float[sq * h];
        double scale = 1 / Math.Sqrt(d);
        var s = new double[skv];
        for (int i = 0; i < sq; i++)
            for (int hh = 0; hh < h; hh++)
            {
                double m = double.NegativeInfinity;
                for (int j = 0; j < skv; j++)
                {
                    double dot = 0;
                    for (int x = 0; x < d; x++) dot += q[(i * h + hh) * d + x] * (double)k[(j * h + hh) * d + x];
                    s[j] = dot * scale;
                    m = Math.Max(m, s[j]);
                }
                double total = 0;
                for (int j = 0; j < skv; j++) total += s[j] = Math.Exp(s[j] - m);
                for (int x = 0; x < d; x++)
                {
                    double acc = 0;
                    for (int j = 0; j < skv; j++) acc += s[j] * v[(j * h + hh) * d + x];
                    o[(i * h + hh) * d + x] = (float)(acc / total);
                }
                lse[i * h + hh] = (float)(m + Math.Log(total));
            }
        return (o, lse);
    }

    static float[][] Split(float[] x, int parts) =>
        [.. Enumerable.Range(0, parts).Select(p => x[(p * x.Length / parts)..((p + 1) * x.Length / parts)])];

    [Theory]
    [InlineData(2, 10)]
    [InlineData(3, 12)]
    [InlineData(6, 6)]
    public void Ulysses_all_to_all_attention_equals_unsharded_attention(int ranks, int tokens)
    {
        int n = tokens * Heads * D;
        float[] q = Random(n, 1), k = Random(n, 2), v = Random(n, 3);
        var (want, _) = Attention(q, k, v, Heads, D);

        // each rank holds a token slice with every head; the all-to-all gives it every token for its heads
        var qh = UlyssesLayout.SequenceToHeads(Split(q, ranks), Heads, D);
        var kh = UlyssesLayout.SequenceToHeads(Split(k, ranks), Heads, D);
        var vh = UlyssesLayout.SequenceToHeads(Split(v, ranks), Heads, D);
        var outHeads = Enumerable.Range(0, ranks).Select(r => Attention(qh[r], kh[r], vh[r], Heads / ranks, D).Out).ToArray();
        var back = UlyssesLayout.HeadsToSequence(outHeads, Heads, D);

        Assert.Equal(want, back.SelectMany(x => x).ToArray());   // the same per-head arithmetic: bit for bit
    }

    [Fact]
    public void The_all_to_all_is_its_own_inverse_and_moves_whole_head_vectors()
    {
        var x = Enumerable.Range(0, 4 * Heads * D).Select(i => (float)i).ToArray();
        var heads = UlyssesLayout.SequenceToHeads(Split(x, 2), Heads, D);
        // rank 1 gets heads 3..5 of every token: token 0's head 3 is values 24..31
        Assert.Equal(Enumerable.Range(3 * D, D).Select(i => (float)i), heads[1][..D]);
        Assert.Equal(x, UlyssesLayout.HeadsToSequence(heads, Heads, D).SelectMany(s => s).ToArray());
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void Ring_attention_merges_key_blocks_into_unsharded_attention(int ranks)
    {
        int tokens = 5 * ranks, n = tokens * Heads * D;
        float[] q = Random(n, 4), k = Random(n, 5), v = Random(n, 6);
        var (want, wantLse) = Attention(q, k, v, Heads, D);
        var qs = Split(q, ranks); var ks = Split(k, ranks); var vs = Split(v, ranks);
        for (int r = 0; r < ranks; r++)
        {
            // rank r sees the key/value blocks in ring order: its own first, then its left neighbour's, ...
            var (acc, lse) = Attention(qs[r], ks[r], vs[r], Heads, D);
            for (int step = 1; step < ranks; step++)
            {
                int from = ((r - step) % ranks + ranks) % ranks;
                var (o, l) = Attention(qs[r], ks[from], vs[from], Heads, D);
                OnlineSoftmax.Merge(acc, lse, o, l, D);
            }
            int rows = tokens / ranks * Heads;
            // the partials are float32: one rounding per merge
            for (int i = 0; i < acc.Length; i++) Assert.Equal(want[r * rows * D + i], acc[i], 2e-6f);
            for (int i = 0; i < lse.Length; i++) Assert.Equal(wantLse[r * rows + i], lse[i], 2e-5f);
        }
    }

    [Fact]
    public void A_block_without_keys_changes_nothing_and_an_empty_accumulator_takes_the_block()
    {
        float[] o = [1, 2, 3, 4], lse = [0.5f, float.NegativeInfinity];
        OnlineSoftmax.Merge(o, lse, new float[] { 9, 9, 7, 8 }, new[] { float.NegativeInfinity, 1.5f }, 2);
        Assert.Equal(new float[] { 1, 2, 7, 8 }, o);
        Assert.Equal(new[] { 0.5f, 1.5f }, lse);
        // two equal-mass partials average
        float[] a = [0, 4], la = [2f];
        OnlineSoftmax.Merge(a, la, new float[] { 2, 0 }, new[] { 2f }, 2);
        Assert.Equal(new float[] { 1, 2 }, a);
        Assert.Equal(2 + MathF.Log(2), la[0], 5);
    }

    [Theory]
    [InlineData(12, 40, 5, "does not divide the transformer's 12 attention heads")]
    [InlineData(12, 42, 4, "does not divide the 42 tokens")]
    public void Ulysses_degrees_that_do_not_divide_are_refused_naming_the_sizes(int heads, int tokens, int ranks, string message)
    {
        var e = Assert.Throws<ArgumentException>(() => UlyssesLayout.Check(heads, tokens, ranks));
        Assert.Contains(message, e.Message);
    }
}
