namespace VisualGen.Parallelism;

/// <summary>
/// Ulysses sequence parallelism's all-to-all, as data movement on the host: before attention every rank holds a slice of
/// the tokens with all heads ([tokens / R, heads, d]); the all-to-all gives every rank all tokens for its slice of the
/// heads ([tokens, heads / R, d]), so each rank runs ordinary attention on its heads; the inverse brings the outputs back
/// to token slices. Rank r's block for rank s is tokens of r × heads of s, in the order NCCL's all-to-all sends them
/// (contiguous per destination rank).
/// </summary>
public static class UlyssesLayout
{
    /// <summary>Checks that the degree divides the heads and the tokens; the error names the sizes and what to change.</summary>
    public static void Check(int heads, int tokens, int ranks)
    {
        if (ranks < 1) throw new ArgumentOutOfRangeException(nameof(ranks), ranks, "ulysses_size must be at least 1");
        if (heads % ranks != 0)
            throw new ArgumentException($"ulysses_size {ranks} does not divide the transformer's {heads} attention heads; use a divisor of {heads}");
        if (tokens % ranks != 0)
            throw new ArgumentException($"ulysses_size {ranks} does not divide the {tokens} tokens of this request; the sequence is padded to a multiple of {ranks} before it is split");
    }

    /// <summary>[R][tokens / R, heads, d] → [R][tokens, heads / R, d].</summary>
    public static float[][] SequenceToHeads(float[][] shards, int heads, int d) => Exchange(shards, heads, d, toHeads: true);

    /// <summary>[R][tokens, heads / R, d] → [R][tokens / R, heads, d].</summary>
    public static float[][] HeadsToSequence(float[][] shards, int heads, int d) => Exchange(shards, heads, d, toHeads: false);

    static float[][] Exchange(float[][] shards, int heads, int d, bool toHeads)
    {
        int r = shards.Length;
        if (r == 0) throw new ArgumentException("no ranks", nameof(shards));
        int hr = heads / r;
        // tokens per rank: from the shard sizes
        int perRank = toHeads ? shards[0].Length / (heads * d) : shards[0].Length / (hr * d) / r;
        Check(heads, perRank * r, r);
        var result = new float[r][];
        for (int s = 0; s < r; s++) result[s] = new float[perRank * r * hr * d];
        for (int src = 0; src < r; src++)
            for (int dst = 0; dst < r; dst++)
                for (int t = 0; t < perRank; t++)
                    for (int h = 0; h < hr; h++)
                    {
                        // the token-sliced side: rank `tokRank`, local token t, global head (headRank·hr + h)
                        int tokRank = toHeads ? src : dst, headRank = toHeads ? dst : src;
                        int seqIndex = (t * heads + headRank * hr + h) * d;
                        int headIndex = ((tokRank * perRank + t) * hr + h) * d;
                        if (toHeads) Array.Copy(shards[src], seqIndex, result[dst], headIndex, d);
                        else Array.Copy(shards[src], headIndex, result[dst], seqIndex, d);
                    }
        return result;
    }
}
