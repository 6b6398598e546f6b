using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>The VAE mid-block's diffusers Attention (one head of all channels, group_norm, residual_connection,
/// rescale_output_factor 1) with AttnProcessor2_0: GroupNorm, pixels as tokens, q/k/v, attention, to_out, residual.</summary>
public sealed class VaeAttentionBlock
{
    readonly int _channels;
    readonly GroupNorm _groupNorm;
    readonly Linear _toQ, _toK, _toV, _toOut;

    public VaeAttentionBlock(Weights w, int channels, int groups, float eps)
    {
        _channels = channels;
        _groupNorm = new GroupNorm(w.Sub("group_norm"), groups, channels, eps);
        _toQ = new Linear(w.Sub("to_q"), channels, channels);
        _toK = new Linear(w.Sub("to_k"), channels, channels);
        _toV = new Linear(w.Sub("to_v"), channels, channels);
        _toOut = new Linear(w.Sub("to_out.0"), channels, channels);
    }

    public Tensor Forward(Tensor x)
    {
        var shape = x.Shape();
        var tokens = _groupNorm.Forward(x).Reshape(0, _channels, -1).Transpose(0, 2, 1);
        var o = AttentionOp.Attention(_toQ.Forward(tokens), _toK.Forward(tokens), _toV.Forward(tokens), heads: 1);
        o = _toOut.Forward(o).Transpose(0, 2, 1);
        return x + x.Tracer.Op("Reshape", [o, shape]);
    }
}
