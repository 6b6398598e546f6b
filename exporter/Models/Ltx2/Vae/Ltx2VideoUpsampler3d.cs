using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vae;

/// <summary>
/// diffusers' LTX2VideoUpsampler3d: a causal conv to channels × s_t·s_h·s_w / upscale_factor, depth-to-space over
/// (t, h, w), and the first s_t − 1 frames dropped; with <c>residual</c>, the input rearranged the same way and
/// repeated over channels is added.
/// </summary>
public sealed class Ltx2VideoUpsampler3d
{
    readonly Ltx2VideoCausalConv3d _conv;
    readonly int[] _stride;
    readonly bool _residual;
    readonly int _repeats;

    public Ltx2VideoUpsampler3d(Weights w, int inChannels, int[] stride, bool residual, int upscaleFactor, string spatialPaddingMode)
    {
        _stride = stride;
        _residual = residual;
        int volume = stride[0] * stride[1] * stride[2];
        _repeats = volume / upscaleFactor;
        _conv = new Ltx2VideoCausalConv3d(w.Sub("conv"), inChannels, inChannels * volume / upscaleFactor, 3, spatialPaddingMode);
    }

    /// <summary>[B, C·s_t·s_h·s_w, F, H, W] → [B, C, F·s_t − (s_t − 1), H·s_h, W·s_w].</summary>
    Tensor DepthToSpace(Tensor x)
    {
        Dim b = x.Size(0), f = x.Size(2), h = x.Size(3), wd = x.Size(4);
        x = x.Reshape(b, -1, _stride[0], _stride[1], _stride[2], f, h, wd).Transpose(0, 1, 5, 2, 6, 3, 7, 4);
        x = x.Reshape(b, -1, f * _stride[0], h * _stride[1], wd * _stride[2]);
        return _stride[0] > 1 ? x.Slice(2, _stride[0] - 1, long.MaxValue) : x;
    }

    public Tensor Forward(Tensor x, bool causal)
    {
        Tensor? residual = null;
        if (_residual)
        {
            residual = DepthToSpace(x);
            if (_repeats > 1) residual = Tensor.Concat(1, Enumerable.Repeat(residual, _repeats).ToArray());
        }
        var y = DepthToSpace(_conv.Forward(x, causal));
        return residual is null ? y : y + residual;
    }
}
