using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Shared.Vae;

/// <summary>diffusers' Upsample2D with use_conv (the VAE decoder's): nearest-neighbour ×2 (each pixel repeated into a
/// 2×2 block, written as Unsqueeze + Expand + Reshape so it is exact on every backend), then a 3×3 conv.</summary>
public sealed class Upsample2D(Weights w, int channels)
{
    readonly Conv2d _conv = new(w.Sub("conv"), channels, channels, 3, padding: 1);

    public Tensor Forward(Tensor x)
    {
        var height = x.Size(2);
        var width = x.Size(3);
        var up = x.Unsqueeze(3, 5).Expand(1, 1, 1, 2, 1, 2).Reshape(0, 0, height * 2, width * 2);
        return _conv.Forward(up);
    }
}
