using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' TimestepEmbedding: linear_1 → SiLU → linear_2.</summary>
public sealed class TimestepEmbedding(Weights w, int inChannels, int timeEmbedDim)
{
    readonly Linear _linear1 = new(w.Sub("linear_1"), inChannels, timeEmbedDim);
    readonly Linear _linear2 = new(w.Sub("linear_2"), timeEmbedDim, timeEmbedDim);

    public Tensor Forward(Tensor x) => _linear2.Forward(_linear1.Forward(x).Silu());
}
