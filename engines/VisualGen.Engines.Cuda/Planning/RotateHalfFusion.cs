using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// <c>x·cos + rotate_half(x)·sin</c> → <c>VgRopeRotateHalf</c> (vg_rope_rotate_half, one kernel and one rounding
/// instead of a split, a negation, a concat, two products and a sum): rotate_half is traced as
/// <c>Split(x, axis) → (x1, x2)</c>, <c>Concat(axis, Neg(x2), x1)</c>. It is Cosmos3's rotate_half RoPE over a head
/// and LTX-2's split RoPE over a head viewed [2, head_dim/2]. The split: a constant [first, second], or num_outputs 2
/// (ONNX's halves: the first ⌈n/2⌉), resolved when a shape is planned; cos and sin broadcast as the products did.
/// </summary>
public static class RotateHalfFusion
{
    public static void Apply(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        var graphOutputs = g.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        bool Only(string value, OpNode user) => Fusion.Single(consumers, value) == user && !graphOutputs.Contains(value);
        foreach (var cat in g.Nodes.Where(n => n.Op == "Concat" && n.Inputs.Count == 2).ToList())
        {
            if (cat.In(0) is not string negated || cat.In(1) is not string x1) continue;
            if (!producers.TryGetValue(negated, out var neg) || neg.Op != "Neg" || neg.In(0) is not string x2) continue;
            if (!producers.TryGetValue(x2, out var split) || split.Op != "Split" || split.In(0) is not string x
                || split.Outputs.Count != 2 || split.Outputs[0] != x1 || split.Outputs[1] != x2) continue;
            long axis = cat.Int("axis", 0);
            if (split.Int("axis", 0) != axis) continue;
            long first = -1; // -1: ONNX's equal halves of the axis, known when a shape is planned
            if (split.In(1) is string sizes)
            {
                if (!g.Constants.TryGetValue(sizes, out var sc) || sc.Count != 2) continue;
                first = (long)sc.ToDoubles()[0];
            }
            else if (split.Int("num_outputs", 2) != 2) continue;
            if (!Only(x1, cat) || !Only(x2, neg) || !Only(negated, cat)) continue;
            // rotated · sin + x · cos (either order of each product and of the sum)
            if (Fusion.Single(consumers, cat.Outputs[0]) is not { Op: "Mul" } bySin || graphOutputs.Contains(cat.Outputs[0])) continue;
            string sin = bySin.In(0) == cat.Outputs[0] ? bySin.In(1)! : bySin.In(0)!;
            if (Fusion.Single(consumers, bySin.Outputs[0]) is not { Op: "Add" } add || graphOutputs.Contains(bySin.Outputs[0])) continue;
            string cosTerm = add.In(0) == bySin.Outputs[0] ? add.In(1)! : add.In(0)!;
            if (!producers.TryGetValue(cosTerm, out var byCos) || byCos.Op != "Mul" || !Only(cosTerm, add)) continue;
            if (byCos.In(0) != x && byCos.In(1) != x) continue;
            string cos = byCos.In(0) == x ? byCos.In(1)! : byCos.In(0)!;
            if (cos == x || sin == cat.Outputs[0]) continue;
            var fused = new OpNode("VgRopeRotateHalf", add.Name, [x, cos, sin], [add.Outputs[0]],
                new() { ["axis"] = new(Int: axis), ["first"] = new(Int: first) });
            Fusion.Replace(g, [split, neg, cat, bySin, byCos, add], add, fused);
            report.Count("VgRopeRotateHalf");
        }
    }
}
