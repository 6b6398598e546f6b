using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>diffusers' LTX2AudioResnetBlock (no time embedding): norm, SiLU, causal conv, twice, plus the input
/// (through a 1×1 causal nin_shortcut when the channel count changes).</summary>
public sealed class Ltx2AudioResnetBlock
{
    readonly Ltx2AudioNorm _norm1, _norm2;
    readonly Ltx2AudioCausalConv2d _conv1, _conv2;
    readonly Ltx2AudioCausalConv2d? _ninShortcut;

    public Ltx2AudioResnetBlock(Weights w, int inChannels, int outChannels, string normType, string causalityAxis)
    {
        _norm1 = new Ltx2AudioNorm(w.Sub("norm1"), inChannels, normType);
        _conv1 = new Ltx2AudioCausalConv2d(w.Sub("conv1"), inChannels, outChannels, 3, causalityAxis);
        _norm2 = new Ltx2AudioNorm(w.Sub("norm2"), outChannels, normType);
        _conv2 = new Ltx2AudioCausalConv2d(w.Sub("conv2"), outChannels, outChannels, 3, causalityAxis);
        if (inChannels != outChannels) _ninShortcut = new Ltx2AudioCausalConv2d(w.Sub("nin_shortcut"), inChannels, outChannels, 1, causalityAxis);
    }

    public Tensor Forward(Tensor x)
    {
        var h = _conv1.Forward(_norm1.Forward(x).Silu());
        h = _conv2.Forward(_norm2.Forward(h).Silu());
        return (_ninShortcut?.Forward(x) ?? x) + h;
    }
}
