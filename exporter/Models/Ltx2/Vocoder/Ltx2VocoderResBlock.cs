using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.Vocoder;

/// <summary>diffusers' vocoder ResBlock (leaky ReLU, no anti-aliasing): per dilation, x += conv2(act(conv1(act(x))))
/// with conv1 dilated and conv2 not.</summary>
public sealed class Ltx2VocoderResBlock
{
    readonly Conv1d[] _convs1, _convs2;
    readonly float _slope;

    public Ltx2VocoderResBlock(Weights w, int channels, int kernel, int[] dilations, float negativeSlope)
    {
        _slope = negativeSlope;
        _convs1 = dilations.Select((d, i) => new Conv1d(w.Sub($"convs1.{i}"), channels, channels, kernel, d)).ToArray();
        _convs2 = dilations.Select((_, i) => new Conv1d(w.Sub($"convs2.{i}"), channels, channels, kernel)).ToArray();
    }

    public Tensor Forward(Tensor x)
    {
        for (int i = 0; i < _convs1.Length; i++)
        {
            var xt = _convs1[i].Forward(Ltx2Vocoder.LeakyRelu(x, _slope));
            xt = _convs2[i].Forward(Ltx2Vocoder.LeakyRelu(xt, _slope));
            x = x + xt;
        }
        return x;
    }
}
