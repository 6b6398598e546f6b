namespace VisualGen.Pipelines;

/// <summary>
/// What one request needs beyond the loaded weights, estimated from its size, frames and the model before anything
/// runs, so a server can refuse what can never fit instead of being killed by it. Working memory is float32
/// activations: a transformer call's attention scores (batch × heads × tokens² — an engine that materializes them,
/// as ONNX Runtime's CPU attention does, holds scores and probabilities at once), its widest activations, the VAE
/// decoder at full resolution (its 3×3×3 convolutions unfold 27 copies of their input on the CPU), the scores of its
/// mid-block self-attention over a frame's latent grid and the decoded output.
/// </summary>
public sealed record GenerationCost
{
    /// <summary>Tokens of one transformer call (image or video patches, plus the text where attention is joint).</summary>
    public required long TransformerTokens { get; init; }

    /// <summary>Sequences per transformer call: 2 when classifier-free guidance is batched.</summary>
    public required int Batch { get; init; }

    public required int Heads { get; init; }

    /// <summary>Widest transformer activations and the VAE decoder's working set (bytes).</summary>
    public required long ActivationBytes { get; init; }

    /// <summary>The decoded frames or image in float32, with one copy for postprocessing (bytes).</summary>
    public required long OutputBytes { get; init; }

    /// <summary>Latent positions of one frame that the VAE decoder's mid-block self-attention attends over (one head):
    /// 0 where the decoder has none.</summary>
    public long VaeAttentionTokens { get; init; }

    /// <summary>Attention scores and probabilities of one transformer call when an engine materializes them (bytes).</summary>
    public long AttentionScoreBytes => (long)Batch * Heads * TransformerTokens * TransformerTokens * sizeof(float) * 2;

    /// <summary>The VAE decoder's attention scores of one frame when an engine materializes them (bytes): (H/8 · W/8)²
    /// floats, 1 GiB at 1024² and 16 GiB at 2048², more than the rest of a FLUX.1 decode at that size (stop 47: a
    /// 2048² request estimated at 8.4 GiB was admitted and took 14 GB and more on ONNX Runtime CPU).</summary>
    public long VaeAttentionScoreBytes => VaeAttentionTokens * VaeAttentionTokens * sizeof(float);

    /// <summary>The attention scores an engine that materializes them holds at the peak: the transformer's or the VAE
    /// decoder's, which are not live at once, so the larger (bytes).</summary>
    public long MaterializedScoreBytes => Math.Max(AttentionScoreBytes, VaeAttentionScoreBytes);

    /// <summary>Peak working memory on an engine that does (<paramref name="scoresMaterialized"/>) or does not hold attention scores.</summary>
    public long WorkingBytes(bool scoresMaterialized) => ActivationBytes + OutputBytes + (scoresMaterialized ? MaterializedScoreBytes : 0);

    /// <summary>A transformer call's widest live activations: about eight float32 tensors of [batch, tokens, width].</summary>
    public static long TransformerActivations(int batch, long tokens, int width) => batch * tokens * width * sizeof(float) * 8L;

    /// <summary>A VAE decoder's working set at full resolution: <paramref name="channels"/> × <paramref name="frames"/>
    /// (a chunk and its causal cache) unfolded 27-fold by 3×3×3 convolutions, plus a few plain copies.</summary>
    public static long VaeDecoder(int height, int width, int channels, int frames) => (long)height * width * channels * frames * sizeof(float) * 32L;

    public static long Output(int frames, int height, int width) => (long)frames * height * width * 3 * sizeof(float) * 2;
}
