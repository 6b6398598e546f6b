using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.LayerNorm over the last dim (diffusers' FP32LayerNorm is the same in float32), affine optional.</summary>
public sealed class LayerNorm(Weights w, int dim, float eps, bool elementwiseAffine, bool bias = true)
{
    readonly Tensor? _weight = elementwiseAffine ? w.Get("weight", [dim]) : null;
    readonly Tensor? _bias = elementwiseAffine && bias ? w.Get("bias", [dim]) : null;

    public Tensor Forward(Tensor x) => x.LayerNorm(_weight, _bias, eps, dim);
}
