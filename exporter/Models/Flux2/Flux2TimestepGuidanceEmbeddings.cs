using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2TimestepGuidanceEmbeddings: sinusoidal projections (flip_sin_to_cos, shift 0) of the timestep and,
/// when the model embeds guidance, of the guidance scale, each through a bias-free TimestepEmbedding, summed.</summary>
public sealed class Flux2TimestepGuidanceEmbeddings
{
    readonly Timesteps _timeProj;
    readonly TimestepEmbedding _timestepEmbedder;
    readonly TimestepEmbedding? _guidanceEmbedder;

    public Flux2TimestepGuidanceEmbeddings(Weights w, int inChannels, int embeddingDim, bool guidanceEmbeds)
    {
        _timeProj = new Timesteps(inChannels, flipSinToCos: true, downscaleFreqShift: 0);
        _timestepEmbedder = new TimestepEmbedding(w.Sub("timestep_embedder"), inChannels, embeddingDim, bias: false);
        if (guidanceEmbeds) _guidanceEmbedder = new TimestepEmbedding(w.Sub("guidance_embedder"), inChannels, embeddingDim, bias: false);
    }

    public Tensor Forward(Tensor timestep, Tensor? guidance)
    {
        var emb = _timestepEmbedder.Forward(_timeProj.Forward(timestep));
        if (guidance is null || _guidanceEmbedder is null) return emb;
        return emb + _guidanceEmbedder.Forward(_timeProj.Forward(guidance));
    }
}
