using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Ltx2.AudioVae;

/// <summary>diffusers' LTX2AudioUpsample (with_conv): nearest ×2 in both axes, a 3×3 causal conv, then the first
/// row (causality "height") or column ("width") dropped.</summary>
public sealed class Ltx2AudioUpsample(Weights w, int channels, string causalityAxis)
{
    readonly Ltx2AudioCausalConv2d _conv = new(w.Sub("conv"), channels, channels, 3, causalityAxis);

    public Tensor Forward(Tensor x)
    {
        Dim height = x.Size(2), width = x.Size(3);
        var up = x.Unsqueeze(3, 5).Expand(1, 1, 1, 2, 1, 2).Reshape(0, 0, height * 2, width * 2);
        var y = _conv.Forward(up);
        return causalityAxis switch
        {
            "height" => y.Slice(2, 1, long.MaxValue),
            "width" => y.Slice(3, 1, long.MaxValue),
            _ => y,
        };
    }
}
