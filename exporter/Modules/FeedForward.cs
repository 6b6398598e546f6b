using VisualGen.Exporter.Graph;

namespace VisualGen.Exporter.Modules;

/// <summary>diffusers' FeedForward: net.0 = GELU(proj(x)) ("gelu" or "gelu-approximate"), net.2 = Linear.</summary>
public sealed class FeedForward(Weights w, int dim, int innerDim, int dimOut, bool tanhGelu)
{
    readonly Linear _proj = new(w.Sub("net.0.proj"), dim, innerDim);
    readonly Linear _out = new(w.Sub("net.2"), innerDim, dimOut);

    public Tensor Forward(Tensor x) => _out.Forward(_proj.Forward(x).Gelu(tanhGelu));
}
