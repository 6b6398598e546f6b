using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Modules;

namespace VisualGen.Exporter.Models.Flux2;

/// <summary>Flux2Modulation: linear(SiLU(temb)) without bias, computed once per forward and shared by every block of
/// a stream; split gives <paramref name="modParamSets"/> sets of (shift, scale, gate), each [batch, 1, dim].</summary>
public sealed class Flux2Modulation(Weights w, int dim, int modParamSets)
{
    readonly Linear _linear = new(w.Sub("linear"), dim, dim * 3 * modParamSets, bias: false);

    /// <param name="temb">[batch, dim]</param>
    public Modulation[] Forward(Tensor temb)
    {
        var p = _linear.Forward(temb.Silu()).Unsqueeze(1).Chunk(3 * modParamSets, -1);
        return Enumerable.Range(0, modParamSets).Select(i => new Modulation(p[3 * i], p[3 * i + 1], p[3 * i + 2])).ToArray();
    }
}

/// <summary>One modulation set: x ← norm(x) · (1 + scale) + shift, residual gate.</summary>
public sealed record Modulation(Tensor Shift, Tensor Scale, Tensor Gate)
{
    public Tensor Apply(Tensor normed) => normed * (1f + Scale) + Shift;
}
