using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Transformer;

/// <summary>diffusers' LTX2AdaLayerNormSingle: PixArt-α timestep embedding (256 sinusoidal channels, cos first,
/// linear → SiLU → linear) and a linear of SiLU(embedding) to <c>numModParams</c>·dim modulation values.</summary>
public sealed class Ltx2AdaLayerNormSingle(Weights w, int dim, int numModParams)
{
    const int TimestepChannels = 256;
    readonly Timesteps _timeProj = new(TimestepChannels, flipSinToCos: true, downscaleFreqShift: 0);
    readonly TimestepEmbedding _timestepEmbedder = new(w.Sub("emb.timestep_embedder"), TimestepChannels, dim);
    readonly Linear _linear = new(w.Sub("linear"), dim, numModParams * dim);

    /// <param name="timestep">[N]</param>
    /// <returns>the modulation [N, numModParams·dim] and the embedded timestep [N, dim]</returns>
    public (Tensor Modulation, Tensor Embedded) Forward(Tensor timestep)
    {
        var embedded = _timestepEmbedder.Forward(_timeProj.Forward(timestep));
        return (_linear.Forward(embedded.Silu()), embedded);
    }
}
