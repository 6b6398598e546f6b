using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>
/// diffusers' LTX2AudioCausalConv2d: zero padding of k − 1 on the causal axis's past side only ("height": the top,
/// "width"/"width-compatibility": the left), split evenly on the other axis ("none": both split), then a Conv2d.
/// </summary>
public sealed class Ltx2AudioCausalConv2d
{
    readonly Tensor _weight, _bias;
    readonly long[] _pads;

    public Ltx2AudioCausalConv2d(Weights w, int inChannels, int outChannels, int kernel, string causalityAxis)
    {
        _weight = w.Get("conv.weight", [outChannels, inChannels, kernel, kernel]);
        _bias = w.Get("conv.bias", [outChannels]);
        long p = kernel - 1, half = p / 2;
        // ONNX pads: [top, left, bottom, right]
        _pads = causalityAxis switch
        {
            "none" => [half, half, p - half, p - half],
            "width" or "width-compatibility" => [half, p, p - half, 0],
            "height" => [p, half, 0, p - half],
            _ => throw new ArgumentException($"causality axis '{causalityAxis}' is not one of none, width, width-compatibility, height"),
        };
    }

    public Tensor Forward(Tensor x) => x.Conv(_weight, _bias, [1, 1], _pads);
}
