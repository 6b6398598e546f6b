using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.T5;

/// <summary>T5Block of the encoder: layer.0 = T5LayerSelfAttention (x + SelfAttention(layer_norm(x))),
/// layer.1 = T5LayerFF. T5's layer norm is RMS normalization (no mean, no bias).</summary>
public sealed class T5Block
{
    readonly RmsNorm _attentionNorm;
    readonly T5LayerFF _ff;

    public T5Attention SelfAttention { get; }

    public T5Block(Weights w, T5Config c, bool hasRelativeAttentionBias, string origin)
    {
        _attentionNorm = new RmsNorm(w.Sub("layer.0.layer_norm"), c.DModel, c.LayerNormEpsilon);
        SelfAttention = new T5Attention(w.Sub("layer.0.SelfAttention"), c, hasRelativeAttentionBias);
        _ff = new T5LayerFF(w.Sub("layer.1"), c, origin);
    }

    public Tensor Forward(Tensor x, Tensor positionBias)
    {
        x = x + SelfAttention.Forward(_attentionNorm.Forward(x), positionBias);
        return _ff.Forward(x);
    }
}
