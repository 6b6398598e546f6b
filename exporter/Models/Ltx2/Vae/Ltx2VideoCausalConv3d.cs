using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>
/// diffusers' LTX2VideoCausalConv3d: a Conv3d whose time axis is padded by repeating the first frame k−1 times
/// (causal) or the first and last frames (k−1)/2 times each (non-causal), and whose height and width are padded by
/// k/2 with the layer's spatial padding mode (zeros, reflect, replicate).
/// </summary>
public sealed class Ltx2VideoCausalConv3d
{
    readonly Tensor _weight, _bias;
    readonly int _kernel;
    readonly string _spatialPadding;

    public Ltx2VideoCausalConv3d(Weights w, int inChannels, int outChannels, int kernel, string spatialPaddingMode)
    {
        _kernel = kernel;
        _spatialPadding = spatialPaddingMode;
        _weight = w.Get("conv.weight", [outChannels, inChannels, kernel, kernel, kernel]);
        _bias = w.Get("conv.bias", [outChannels]);
    }

    public Tensor Forward(Tensor x, bool causal)
    {
        long past = causal ? _kernel - 1 : (_kernel - 1) / 2, future = causal ? 0 : (_kernel - 1) / 2;
        if (past + future > 0) x = x.Pad([0, 0, past, 0, 0, 0, 0, future, 0, 0], mode: "edge");
        long p = _kernel / 2;
        if (p > 0 && _spatialPadding != "zeros")
        {
            x = x.Pad([0, 0, 0, p, p, 0, 0, 0, p, p], mode: _spatialPadding == "reflect" ? "reflect" : "edge");
            return x.Conv(_weight, _bias, [1, 1, 1], [0, 0, 0, 0, 0, 0]);
        }
        return x.Conv(_weight, _bias, [1, 1, 1], [0, p, p, 0, p, p]);
    }
}
