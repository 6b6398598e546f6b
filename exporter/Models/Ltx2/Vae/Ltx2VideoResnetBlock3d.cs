using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>
/// diffusers' LTX2VideoResnetBlock3d (no noise injection, no timestep conditioning): PerChannelRMSNorm, SiLU,
/// causal conv, twice; when the channel count changes, the shortcut is a LayerNorm over channels and a 1×1×1 Conv3d.
/// </summary>
public sealed class Ltx2VideoResnetBlock3d
{
    readonly Ltx2VideoCausalConv3d _conv1, _conv2;
    readonly LayerNorm? _norm3;
    readonly Tensor? _shortcutWeight, _shortcutBias;

    public Ltx2VideoResnetBlock3d(Weights w, int inChannels, int outChannels, float eps, string spatialPaddingMode)
    {
        _conv1 = new Ltx2VideoCausalConv3d(w.Sub("conv1"), inChannels, outChannels, 3, spatialPaddingMode);
        _conv2 = new Ltx2VideoCausalConv3d(w.Sub("conv2"), outChannels, outChannels, 3, spatialPaddingMode);
        if (inChannels != outChannels)
        {
            _norm3 = new LayerNorm(w.Sub("norm3"), inChannels, eps, elementwiseAffine: true);
            _shortcutWeight = w.Get("conv_shortcut.weight", [outChannels, inChannels, 1, 1, 1]);
            _shortcutBias = w.Get("conv_shortcut.bias", [outChannels]);
        }
    }

    public Tensor Forward(Tensor inputs, bool causal)
    {
        var x = PerChannelRmsNorm.Forward(inputs).Silu();
        x = _conv1.Forward(x, causal);
        x = PerChannelRmsNorm.Forward(x).Silu();
        x = _conv2.Forward(x, causal);
        if (_norm3 is not null)
        {
            inputs = _norm3.Forward(inputs.Transpose(0, 2, 3, 4, 1)).Transpose(0, 4, 1, 2, 3);
            inputs = inputs.Conv(_shortcutWeight!, _shortcutBias, [1, 1, 1], [0, 0, 0, 0, 0, 0]);
        }
        return x + inputs;
    }
}
