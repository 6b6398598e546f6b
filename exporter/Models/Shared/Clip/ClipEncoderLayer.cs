using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Clip;

/// <summary>CLIPEncoderLayer (pre-LN): x + self_attn(layer_norm1(x)), then x + mlp(layer_norm2(x)) with
/// CLIPMLP = fc2(act(fc1(x))).</summary>
public sealed class ClipEncoderLayer
{
    readonly LayerNorm _layerNorm1, _layerNorm2;
    readonly ClipAttention _selfAttn;
    readonly Linear _fc1, _fc2;
    readonly Func<Tensor, Tensor> _act;

    public ClipEncoderLayer(Weights w, int hidden, int intermediate, int heads, float eps, Func<Tensor, Tensor> act)
    {
        _layerNorm1 = new LayerNorm(w.Sub("layer_norm1"), hidden, eps, elementwiseAffine: true);
        _selfAttn = new ClipAttention(w.Sub("self_attn"), hidden, heads);
        _layerNorm2 = new LayerNorm(w.Sub("layer_norm2"), hidden, eps, elementwiseAffine: true);
        _fc1 = new Linear(w.Sub("mlp.fc1"), hidden, intermediate);
        _fc2 = new Linear(w.Sub("mlp.fc2"), intermediate, hidden);
        _act = act;
    }

    public Tensor Forward(Tensor x, Tensor? mask, bool causal = false)
    {
        x = x + _selfAttn.Forward(_layerNorm1.Forward(x), mask, causal);
        return x + _fc2.Forward(_act(_fc1.Forward(_layerNorm2.Forward(x))));
    }
}
