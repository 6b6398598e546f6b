namespace VisualGen.Pipelines.Cosmos3;

/// <summary>
/// One pass's joint sequence (diffusers' _prepare_text_segment + _prepare_vision_segment): the prompt's token ids
/// (the causal understanding prefix), then every vision patch token; the mRoPE positions of both; and which vision
/// tokens are noisy (1) or belong to a conditioning frame (0, no timestep embedding, zero velocity).
/// </summary>
public sealed record Cosmos3Sequence(long[] InputIds, float[] PositionIds, float[] NoisyTokens)
{
    public int TextLength => InputIds.Length;
    public int SequenceLength => PositionIds.Length / 3;

    public static Cosmos3Sequence Build(Cosmos3ModelConfig c, IReadOnlyList<int> inputIds, Cosmos3Patchify grid, double fps, IReadOnlySet<int> conditionFrames)
    {
        var noisy = new float[grid.Tokens];
        for (int f = 0; f < grid.Frames; f++)
            if (!conditionFrames.Contains(f)) Array.Fill(noisy, 1f, f * grid.TokensPerFrame, grid.TokensPerFrame);
        var positions = Cosmos3Positions.Joint(c, inputIds.Count, grid.Frames, grid.Rows, grid.Columns, fps);
        return new Cosmos3Sequence(inputIds.Select(i => (long)i).ToArray(), positions, noisy);
    }
}
