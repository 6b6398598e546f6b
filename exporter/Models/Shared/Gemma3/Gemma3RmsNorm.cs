using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Gemma3;

/// <summary>Gemma3RMSNorm: x / sqrt(mean(x²) + eps) · (1 + weight) over the last dim.</summary>
public sealed class Gemma3RmsNorm(Weights w, int dim, float eps)
{
    readonly Tensor _weight = w.Get("weight", [dim]);

    public Tensor Forward(Tensor x) => x.RmsNorm(_weight + 1f, eps, dim);
}
