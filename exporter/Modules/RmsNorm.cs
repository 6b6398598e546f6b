using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.RMSNorm over the last dim: x / sqrt(mean(x²) + eps) · weight.</summary>
public sealed class RmsNorm(Weights w, int dim, float eps, bool elementwiseAffine = true)
{
    readonly Tensor? _weight = elementwiseAffine ? w.Get("weight", [dim]) : null;

    public Tensor Forward(Tensor x) => x.RmsNorm(_weight, eps, dim);
}
