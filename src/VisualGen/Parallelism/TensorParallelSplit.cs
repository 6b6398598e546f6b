namespace VisualGen.Parallelism;

/// <summary>
/// Tensor parallelism's weight shards (Megatron's pairing): the first linear of a pair split by output features
/// (column-parallel: each rank computes its slice of the hidden features, the activation between them stays sharded),
/// the second by input features (row-parallel: each rank's partial product is summed across ranks by one all-reduce).
/// Weights are in nn.Linear's [out, in] layout, as the checkpoints store them.
/// </summary>
public static class TensorParallelSplit
{
    /// <summary>Rank <paramref name="rank"/>'s rows of an [out, in] weight (and its bias slice) for a column-parallel linear.</summary>
    public static (float[] Weight, float[]? Bias) Column(float[] weight, float[]? bias, int outFeatures, int inFeatures, int ranks, int rank)
    {
        Check(outFeatures, ranks, "output features");
        int rows = outFeatures / ranks;
        var w = weight.AsSpan(rank * rows * inFeatures, rows * inFeatures).ToArray();
        return (w, bias?.AsSpan(rank * rows, rows).ToArray());
    }

    /// <summary>Rank <paramref name="rank"/>'s columns of an [out, in] weight for a row-parallel linear (the bias is added
    /// once, after the all-reduce).</summary>
    public static float[] Row(float[] weight, int outFeatures, int inFeatures, int ranks, int rank)
    {
        Check(inFeatures, ranks, "input features");
        int cols = inFeatures / ranks;
        var w = new float[outFeatures * cols];
        for (int o = 0; o < outFeatures; o++)
            Array.Copy(weight, o * inFeatures + rank * cols, w, o * cols, cols);
        return w;
    }

    static void Check(int features, int ranks, string what)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "tp_size must be at least 1");
        if (features % ranks != 0)
            throw new ArgumentException($"tp_size {ranks} does not divide the linear's {features} {what}; use a divisor of {features}");
    }
}
