using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' Downsample2D with use_conv and padding 0 (the VAE encoder's): zero-pad one row at the bottom
/// and one column at the right, then a 3×3 conv with stride 2.</summary>
public sealed class Downsample2D(Weights w, int channels)
{
    readonly Conv2d _conv = new(w.Sub("conv"), channels, channels, 3, stride: 2, pads: [0, 0, 1, 1]);

    public Tensor Forward(Tensor x) => _conv.Forward(x);
}
