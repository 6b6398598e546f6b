using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// SwiGLU's <c>silu(a) · b</c> → one vg_nd pass (VG_ND_SILU_MUL) instead of a SiLU pass and a product pass:
/// <list type="bullet">
/// <item><c>Mul(VgSilu(x1), x2)</c> with (x1, x2) the halves of one <c>Split</c> of x (FLUX.2's Flux2SwiGLU, a chunk of
/// the MLP projection) → <c>VgSwiGlu(x)</c>, which reads both halves of x in place (the split's two copies are not made);</item>
/// <item>any other <c>Mul(VgSilu(a), b)</c> (a gated MLP's gate and up projections: Cosmos3, Qwen, Mistral) →
/// <c>VgSiluMul(a, b)</c>, broadcasting as the product did.</item>
/// </list>
/// Runs after <see cref="EncoderFusion"/> has turned <c>x · Sigmoid(x)</c> into VgSilu.
/// </summary>
public static class SwiGluFusion
{
    public static void Apply(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        var graphOutputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        bool Only(string value, OpNode user) => Fusion.Single(consumers, value) == user && !graphOutputs.Contains(value);
        foreach (var mul in g.Nodes.Where(n => n.Op == "Mul" && n.Inputs.Count == 2).ToList())
        {
            for (int side = 0; side < 2; side++)
            {
                if (mul.In(side) is not string gated || mul.In(1 - side) is not string up || !producers.TryGetValue(gated, out var silu)
                    || silu.Op != "VgSilu" || !Only(gated, mul) || silu.In(0) is not string gate) continue;
                if (producers.TryGetValue(gate, out var split) && split.Op == "Split" && split.Outputs.Count == 2 && split.Outputs[0] == gate
                    && split.Outputs[1] == up && Only(gate, silu) && Only(up, mul) && EqualHalves(g, split) && split.In(0) is string x)
                {
                    Fusion.Replace(g, [split, silu, mul], mul, new OpNode("VgSwiGlu", mul.Name, [x], [mul.Outputs[0]],
                        new() { ["axis"] = new(Int: split.Int("axis", 0)) }));
                    report.Count("VgSwiGlu");
                }
                else
                {
                    Fusion.Replace(g, [silu, mul], mul, new OpNode("VgSiluMul", mul.Name, [gate, up], [mul.Outputs[0]], []));
                    report.Count("VgSiluMul");
                }
                break;
            }
        }
    }

    /// <summary>A split into two parts of one size: num_outputs 2 (the product then needs an even axis, which the plan
    /// checks) or constant sizes [h, h].</summary>
    static bool EqualHalves(OpGraph g, OpNode split)
    {
        if (split.In(1) is not string sizes) return split.Int("num_outputs", 2) == 2;
        return g.Constants.TryGetValue(sizes, out var c) && c.Count == 2 && c.ToDoubles() is [var a, var b] && a == b;
    }
}
