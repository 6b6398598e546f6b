using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.QwenImage;

/// <summary>QwenTimestepProjEmbeddings: sinusoidal projection of t (256 channels, cos first, scale 1000) → TimestepEmbedding.</summary>
public sealed class QwenTimestepProjEmbeddings(Weights w, int embeddingDim)
{
    readonly Timesteps _timeProj = new(256, flipSinToCos: true, downscaleFreqShift: 0, scale: 1000);
    readonly TimestepEmbedding _timestepEmbedder = new(w.Sub("timestep_embedder"), 256, embeddingDim);

    public Tensor Forward(Tensor timestep) => _timestepEmbedder.Forward(_timeProj.Forward(timestep));
}
