using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>diffusers' LTX2AudioAttnBlock: single-head self-attention over the H·W positions with 1×1 conv
/// projections (q, k, v, proj_out), scale 1/sqrt(channels), added to the input.</summary>
public sealed class Ltx2AudioAttnBlock
{
    readonly Ltx2AudioNorm _norm;
    readonly Conv2d _q, _k, _v, _projOut;
    readonly int _channels;

    public Ltx2AudioAttnBlock(Weights w, int channels, string normType)
    {
        _channels = channels;
        _norm = new Ltx2AudioNorm(w.Sub("norm"), channels, normType);
        _q = new Conv2d(w.Sub("q"), channels, channels, 1);
        _k = new Conv2d(w.Sub("k"), channels, channels, 1);
        _v = new Conv2d(w.Sub("v"), channels, channels, 1);
        _projOut = new Conv2d(w.Sub("proj_out"), channels, channels, 1);
    }

    public Tensor Forward(Tensor x)
    {
        var h = _norm.Forward(x);
        Dim b = x.Size(0), height = x.Size(2), width = x.Size(3);
        // [B, C, H, W] → [B, H·W, C]
        Tensor Tokens(Tensor t) => t.Reshape(b, _channels, height * width).Transpose(0, 2, 1);
        var q = Tokens(_q.Forward(h));
        var k = Tokens(_k.Forward(h));
        var v = Tokens(_v.Forward(h));
        var attn = (q.MatMul(k.Transpose(0, 2, 1)) * (1f / MathF.Sqrt(_channels))).Softmax(-1);
        var o = attn.MatMul(v).Transpose(0, 2, 1).Reshape(b, _channels, height, width);
        return x + _projOut.Forward(o);
    }
}
