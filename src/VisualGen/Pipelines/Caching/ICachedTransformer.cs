using VisualGen.Tensors;

namespace VisualGen.Pipelines.Caching;

/// <summary>
/// One step's transformer call, as a family hands it to a step cache (TeaCache needs no more than this). Tensors
/// are batched as the family batches them (CFG rows).
/// </summary>
public interface ICachedTransformer
{
    /// <summary>The latents this step's prediction is made from, shaped like <see cref="Whole"/>'s output (one copy per
    /// batch row; latent channels only where the transformer also takes condition channels).</summary>
    float[] LatentInput { get; }

    /// <summary>The whole transformer: the prediction, [batch, ...] flattened.</summary>
    float[] Whole();

    /// <summary>The tensor TeaCache compares between steps (the <c>time_embedding</c> part), of the conditional batch row.</summary>
    float[] TimeEmbedding();
}

/// <summary>A transformer that also runs in parts (<see cref="TransformerParts"/>), as Cache-DiT needs.</summary>
public interface ISplitTransformer : ICachedTransformer
{
    /// <summary>The transformer's number of blocks.</summary>
    int BlockCount { get; }

    /// <summary>The tokens before the first block.</summary>
    HostTensor Embed();

    /// <summary>Blocks <paramref name="from"/>..<paramref name="to"/>-1 applied to <paramref name="hidden"/>.</summary>
    HostTensor Blocks(int from, int to, HostTensor hidden);

    /// <summary>The output head on the tokens after the last block: the prediction.</summary>
    float[] Output(HostTensor hidden);
}
