using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' TimestepEmbedding: linear_1 → SiLU → linear_2 (both with bias unless sample_proj_bias is
/// false, as FLUX.2 has it).</summary>
public sealed class TimestepEmbedding(Weights w, int inChannels, int timeEmbedDim, bool bias = true)
{
    readonly Linear _linear1 = new(w.Sub("linear_1"), inChannels, timeEmbedDim, bias);
    readonly Linear _linear2 = new(w.Sub("linear_2"), timeEmbedDim, timeEmbedDim, bias);

    public Tensor Forward(Tensor x) => _linear2.Forward(_linear1.Forward(x).Silu());
}
