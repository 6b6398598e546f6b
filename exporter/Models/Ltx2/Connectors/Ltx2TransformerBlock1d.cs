using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Connectors;

/// <summary>diffusers' LTX2TransformerBlock1d: RMSNorm (no weight), self-attention with RoPE, residual; RMSNorm,
/// GELU-tanh feed-forward (×4), residual.</summary>
public sealed class Ltx2TransformerBlock1d
{
    const float Eps = 1e-6f;
    readonly int _dim;
    readonly Ltx2Attention _attn1;
    readonly FeedForward _ff;

    public Ltx2TransformerBlock1d(Weights w, int dim, int heads, int headDim, bool gated)
    {
        _dim = dim;
        _attn1 = new Ltx2Attention(w.Sub("attn1"), dim, heads, headDim, gated: gated);
        _ff = new FeedForward(w.Sub("ff"), dim, 4 * dim, dim, tanhGelu: true);
    }

    public Tensor Forward(Tensor x, Tensor? mask, Ltx2Attention.Rope rope)
    {
        x = x + _attn1.Forward(x.RmsNorm(null, Eps, _dim), mask: mask, queryRope: rope);
        return x + _ff.Forward(x.RmsNorm(null, Eps, _dim));
    }
}
