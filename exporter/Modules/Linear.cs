using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Quantization;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.Linear: y = x Wᵀ + b, weight stored [out, in] in the checkpoint and [in, out] in the graph.
/// Under a quantization config (<see cref="Weights.Quantization"/>) the weight may instead be a
/// <see cref="QuantizedLinear"/>: explicit dequantize ops before the MatMul.</summary>
public sealed class Linear
{
    readonly QuantizedLinear? _quantized;
    readonly Tensor? _weight;
    readonly Tensor? _bias;

    public int OutFeatures { get; }

    public Linear(Weights w, int inFeatures, int outFeatures, bool bias = true)
    {
        OutFeatures = outFeatures;
        _quantized = w.Quantization?.For(w, inFeatures, outFeatures);
        if (_quantized is null) _weight = w.Get("weight", [outFeatures, inFeatures], transpose: true);
        _bias = bias ? w.Get("bias", [outFeatures]) : null;
    }

    public Tensor Forward(Tensor x)
    {
        var y = _quantized?.MatMul(x) ?? x.MatMul(_weight!);
        return _bias is null ? y : y + _bias;
    }
}
