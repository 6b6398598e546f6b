using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vocoder;

/// <summary>torch.nn.Conv1d with stride 1 and "same" padding (dilation·(k − 1) split as torch splits it: the smaller
/// half on the left); weight [out, in, k].</summary>
public sealed class Conv1d
{
    readonly Tensor _weight;
    readonly Tensor? _bias;
    readonly long _dilation, _left, _right;

    public Conv1d(Weights w, int inChannels, int outChannels, int kernel, int dilation = 1, bool bias = true)
    {
        _weight = w.Get("weight", [outChannels, inChannels, kernel]);
        _bias = bias ? w.Get("bias", [outChannels]) : null;
        _dilation = dilation;
        long total = (long)dilation * (kernel - 1);
        _left = total / 2;
        _right = total - _left;
    }

    public Tensor Forward(Tensor x) => x.Conv(_weight, _bias, [1], [_left, _right], [_dilation]);
}
