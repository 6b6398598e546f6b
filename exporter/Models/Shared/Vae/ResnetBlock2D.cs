using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' ResnetBlock2D without a time embedding (as the VAE uses it): GroupNorm → act → conv1 →
/// GroupNorm → act → conv2, plus the input (through a 1×1 conv_shortcut when the channel count changes).</summary>
public sealed class ResnetBlock2D
{
    readonly GroupNorm _norm1, _norm2;
    readonly Conv2d _conv1, _conv2;
    readonly Conv2d? _convShortcut;
    readonly Func<Tensor, Tensor> _act;

    public ResnetBlock2D(Weights w, int inChannels, int outChannels, int groups, float eps, Func<Tensor, Tensor> act)
    {
        _act = act;
        _norm1 = new GroupNorm(w.Sub("norm1"), groups, inChannels, eps);
        _conv1 = new Conv2d(w.Sub("conv1"), inChannels, outChannels, 3, padding: 1);
        _norm2 = new GroupNorm(w.Sub("norm2"), groups, outChannels, eps);
        _conv2 = new Conv2d(w.Sub("conv2"), outChannels, outChannels, 3, padding: 1);
        if (inChannels != outChannels) _convShortcut = new Conv2d(w.Sub("conv_shortcut"), inChannels, outChannels, 1);
    }

    public Tensor Forward(Tensor input)
    {
        var h = _conv1.Forward(_act(_norm1.Forward(input)));
        h = _conv2.Forward(_act(_norm2.Forward(h)));
        var shortcut = _convShortcut is null ? input : _convShortcut.Forward(input);
        return shortcut + h;
    }
}
