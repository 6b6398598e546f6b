using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' CombinedTimestepTextProjEmbeddings: sinusoidal timestep (256 channels, cos first) →
/// TimestepEmbedding, plus the pooled text projection (SiLU). With <paramref name="guidanceEmbeds"/> it is
/// CombinedTimestepGuidanceTextProjEmbeddings: the guidance scale goes through the same sinusoid and its own
/// guidance_embedder, added to the timestep embedding.</summary>
public sealed class CombinedTimestepTextProjEmbeddings(Weights w, int embeddingDim, int pooledProjectionDim, bool guidanceEmbeds)
{
    const int TimeProjChannels = 256;

    readonly Timesteps _timeProj = new(TimeProjChannels, flipSinToCos: true, downscaleFreqShift: 0);
    readonly TimestepEmbedding _timestepEmbedder = new(w.Sub("timestep_embedder"), TimeProjChannels, embeddingDim);
    readonly TimestepEmbedding? _guidanceEmbedder = guidanceEmbeds ? new(w.Sub("guidance_embedder"), TimeProjChannels, embeddingDim) : null;
    readonly PixArtAlphaTextProjection _textEmbedder = new(w.Sub("text_embedder"), pooledProjectionDim, embeddingDim, actFn: "silu");

    public bool HasGuidance => _guidanceEmbedder is not null;

    /// <param name="timestep">[batch]</param>
    /// <param name="guidance">[batch]; required exactly when the module has a guidance embedder.</param>
    /// <param name="pooledProjection">[batch, pooled_projection_dim]</param>
    public Tensor Forward(Tensor timestep, Tensor? guidance, Tensor pooledProjection)
    {
        if ((guidance is null) != (_guidanceEmbedder is null))
            throw new ArgumentException(_guidanceEmbedder is null ? "this embedding has no guidance_embedder; pass no guidance" : "guidance is required (guidance_embeds)");
        return TimeGuidance(timestep, guidance) + _textEmbedder.Forward(pooledProjection);
    }

    /// <summary>The timestep embedding plus, with a guidance embedder, the guidance embedding: everything but the
    /// pooled text projection (what TensorRT-LLM's TeaCache compares for FLUX).</summary>
    public Tensor TimeGuidance(Tensor timestep, Tensor? guidance)
    {
        var emb = _timestepEmbedder.Forward(_timeProj.Forward(timestep));
        if (_guidanceEmbedder is not null) emb = emb + _guidanceEmbedder.Forward(_timeProj.Forward(guidance!));
        return emb;
    }
}
