using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>torch.nn.Conv2d with a square kernel: weight [out, in, k, k], optional bias; <paramref name="padding"/>
/// zero-pads every side (pads given as [top, left, bottom, right] when asymmetric).</summary>
public sealed class Conv2d
{
    readonly Tensor _weight;
    readonly Tensor? _bias;
    readonly long _stride;
    readonly long[] _pads;

    public Conv2d(Weights w, int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, bool bias = true, long[]? pads = null)
    {
        _weight = w.Get("weight", [outChannels, inChannels, kernelSize, kernelSize]);
        _bias = bias ? w.Get("bias", [outChannels]) : null;
        _stride = stride;
        _pads = pads ?? [padding, padding, padding, padding];
    }

    public Tensor Forward(Tensor x) => x.Conv(_weight, _bias, [_stride, _stride], _pads);
}
