using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.Linear: y = x Wᵀ + b, weight stored [out, in] in the checkpoint and [in, out] in the graph.</summary>
public sealed class Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
{
    readonly Tensor _weight = w.Get("weight", [outFeatures, inFeatures], transpose: true);
    readonly Tensor? _bias = bias ? w.Get("bias", [outFeatures]) : null;

    public int OutFeatures => outFeatures;

    public Tensor Forward(Tensor x)
    {
        var y = x.MatMul(_weight);
        return _bias is null ? y : y + _bias;
    }
}
