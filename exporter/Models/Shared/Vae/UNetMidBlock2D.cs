using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' UNetMidBlock2D as the VAE uses it (one layer): resnet, attention (unless
/// mid_block_add_attention is false), resnet.</summary>
public sealed class UNetMidBlock2D
{
    readonly ResnetBlock2D _resnet0, _resnet1;
    readonly VaeAttentionBlock? _attention;

    public UNetMidBlock2D(Weights w, int channels, int groups, float eps, Func<Tensor, Tensor> act, bool addAttention)
    {
        _resnet0 = new ResnetBlock2D(w.Sub("resnets.0"), channels, channels, groups, eps, act);
        if (addAttention) _attention = new VaeAttentionBlock(w.Sub("attentions.0"), channels, groups, eps);
        _resnet1 = new ResnetBlock2D(w.Sub("resnets.1"), channels, channels, groups, eps, act);
    }

    public Tensor Forward(Tensor x)
    {
        x = _resnet0.Forward(x);
        if (_attention is not null) x = _attention.Forward(x);
        return _resnet1.Forward(x);
    }
}
