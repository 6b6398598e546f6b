using VisualGen.Engines;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// One step's transformer call, as a family hands it to a step cache (TeaCache needs no more than this). Tensors
/// are batched as the family batches them (CFG rows) and stay where the engines compute (GPU memory on the native
/// engine); tensors returned belong to the caller.
/// </summary>
public interface ICachedTransformer
{
    /// <summary>Arithmetic where the transformer computes (residuals, their distance).</summary>
    ITensorArithmetic Arithmetic { get; }

    /// <summary>The latents this step's prediction is made from, with as many elements as <see cref="Whole"/>'s output (one
    /// copy per batch row; latent channels only where the transformer also takes condition channels). Owned by the call.</summary>
    IEngineTensor LatentInput { get; }

    /// <summary>The whole transformer: the prediction, [batch, ...].</summary>
    IEngineTensor Whole();

    /// <summary>The tensor TeaCache compares between steps (the <c>time_embedding</c> part), of the conditional batch row,
    /// on the host (a few thousand values).</summary>
    float[] TimeEmbedding();
}

/// <summary>A transformer that also runs in parts (<see cref="TransformerParts"/>), as Cache-DiT needs. The token streams
/// between parts stay where the engines compute: 400 MB per stream for Wan 1.3B at 480p with CFG, which a host round trip
/// per part would cost more than the blocks it skips. Inputs are not taken over.</summary>
public interface ISplitTransformer : ICachedTransformer
{
    /// <summary>The transformer's number of blocks.</summary>
    int BlockCount { get; }

    /// <summary>The tokens before the first block.</summary>
    IEngineTensor Embed();

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 applied to <paramref name="hidden"/>.</summary>
    IEngineTensor Blocks(int from, int to, IEngineTensor hidden);

    /// <summary>The output head on the tokens after the last block: the prediction.</summary>
    IEngineTensor Output(IEngineTensor hidden);
}
