using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Wan.Vae;

/// <summary>diffusers' WanAttentionBlock: single-head self-attention over the H·W positions of each frame
/// (frames do not see each other), with 1×1 convolutions for qkv and the output projection, plus the identity.</summary>
public sealed class WanAttentionBlock
{
    readonly int _dim;
    readonly WanRmsNorm _norm;
    readonly Tensor _qkvWeight, _qkvBias, _projWeight, _projBias;

    public WanAttentionBlock(Weights w, int dim)
    {
        _dim = dim;
        _norm = new WanRmsNorm(w.Sub("norm"), dim, images: true);
        // Conv2d 1×1 weights [out, in, 1, 1] applied frame by frame = Conv3d with a [out, in, 1, 1, 1] kernel
        _qkvWeight = w.Get("to_qkv.weight", [dim * 3, dim, 1, 1]).Unsqueeze(2);
        _qkvBias = w.Get("to_qkv.bias", [dim * 3]);
        _projWeight = w.Get("proj.weight", [dim, dim, 1, 1]).Unsqueeze(2);
        _projBias = w.Get("proj.bias", [dim]);
    }

    /// <summary>x: [B, C, T, H, W].</summary>
    public Tensor Forward(Tensor x)
    {
        var identity = x;
        Dim b = x.Size(0), t = x.Size(2), h = x.Size(3), wd = x.Size(4);
        x = _norm.Forward(x);
        var qkv = x.Conv(_qkvWeight, _qkvBias, [1, 1, 1], [0, 0, 0, 0, 0, 0]);
        // [B, 3C, T, H, W] → [B·T, H·W, 3C]: one sequence per frame
        qkv = qkv.Transpose(0, 2, 3, 4, 1).Reshape(b * t, h * wd, 3 * _dim);
        var parts = qkv.Chunk(3, 2);
        var o = AttentionOp.Attention(parts[0], parts[1], parts[2], heads: 1);
        o = o.Reshape(b, t, h, wd, _dim).Transpose(0, 4, 1, 2, 3);
        o = o.Conv(_projWeight, _projBias, [1, 1, 1], [0, 0, 0, 0, 0, 0]);
        return o + identity;
    }
}
