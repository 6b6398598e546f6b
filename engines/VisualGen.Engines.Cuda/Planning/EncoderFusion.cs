using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// The fusions text encoders and VAEs need, beside the DiT ones in <see cref="Fusion"/>:
/// <list type="bullet">
/// <item><c>x · Sigmoid(x)</c> → <c>VgSilu</c> (one pass instead of two);</item>
/// <item>Wan's VAE norm <c>x / max(√ΣcX², eps) · scale · gamma</c> (F.normalize over channels) → <c>VgChannelNorm</c>
/// with the per-channel weight scale·gamma folded;</item>
/// <item><c>Gather(table, ids)</c> with a large constant table and device ids → <c>VgGather</c> (the token embedding,
/// table packed bf16);</item>
/// <item>ONNX <c>GroupNormalization</c> (opset 21: per-channel scale and bias), and the SiLU that follows it when it is
/// its only consumer → <c>VgGroupNorm</c> (vg_group_norm);</item>
/// <item><c>Conv</c> weights (possibly through Unsqueeze/Reshape views of a constant) → an fp32 device weight
/// <c>name#f32</c> with the kernel's shape, for cuDNN.</item>
/// </list>
/// </summary>
public static class EncoderFusion
{
    /// <summary>Suffix of constants uploaded to the device as fp32 weights (conv kernels).</summary>
    public const string F32Weight = "#f32";

    /// <summary>Whether a constant is a packed device weight (GEMM [N,K] bf16, embedding table bf16, conv kernel fp32),
    /// uploaded when the engine loads; every other constant is read at plan time.</summary>
    public static bool IsDeviceWeight(string name) =>
        name.EndsWith(F32Weight, StringComparison.Ordinal) || name.EndsWith("#bf16nk", StringComparison.Ordinal) || name.EndsWith("#bf16", StringComparison.Ordinal)
        || name.EndsWith(QuantizedLinearFusion.Fp8Codes, StringComparison.Ordinal) || name.EndsWith(QuantizedLinearFusion.Nvfp4Codes, StringComparison.Ordinal)
        || name.EndsWith(QuantizedLinearFusion.Nvfp4BlockScales, StringComparison.Ordinal);

    /// <summary>Bytes of the device weights the engine uploads at load: each in its own element type (bf16 GEMM
    /// weights 2 bytes, fp32 convolution kernels 4, FP8 codes 1, packed NVFP4 half a byte per weight plus its e4m3
    /// block scales).</summary>
    public static long DeviceWeightBytes(OpGraph g) =>
        g.Constants.Values.Where(c => IsDeviceWeight(c.Name)).Sum(c => c.Count * c.DType.SizeOf());

    public static void Apply(OpGraph g, FusionReport report)
    {
        FuseSilu(g, report);
        FuseGroupNorm(g, report);
        FuseChannelNorm(g, report);
        FuseEmbedding(g, report);
        ConvTransposeLowering.Apply(g, report);
        PackConvWeights(g, report);
    }

    /// <summary>The constant behind <paramref name="name"/> seen through Identity/Unsqueeze/Reshape/Squeeze views of
    /// constants (same bytes, other shape) and the float32 Cast of a 16-bit checkpoint weight: the constant (in its own
    /// dtype) and the viewed shape, or null.</summary>
    internal static (ConstTensor Const, long[] Shape)? ViewedConstant(OpGraph g, Dictionary<string, OpNode> producers, string? name)
    {
        if (name is null) return null;
        if (g.Constants.TryGetValue(name, out var c)) return (c, c.Shape);
        if (!producers.TryGetValue(name, out var p)) return null;
        if (p.Op == "Cast" && p.Int("to", 0) == 1 && p.In(0) is string castFrom && g.Constants.TryGetValue(castFrom, out var half)
            && half.DType is TensorDType.BF16 or TensorDType.F16)
            return (half, half.Shape);
        if (p.Op is not ("Identity" or "Unsqueeze" or "Reshape" or "Squeeze")) return null;
        if (p.Inputs.Skip(1).Any(i => i is not null && !g.Constants.ContainsKey(i))) return null;
        var src = ViewedConstant(g, producers, p.In(0));
        if (src is null) return null;
        var shape = Layout.ShapeOf(p, [src.Value.Shape], i =>
            p.In(i) is string s && g.Constants.TryGetValue(s, out var k) ? new HostValue(k.Shape, k.ToDoubles(), k.DType is TensorDType.I64 or TensorDType.I32) : null);
        return (src.Value.Const, shape);
    }

    // ---- x * sigmoid(x) → VgSilu ----------------------------------------------------------------------
    static void FuseSilu(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        foreach (var sig in g.Nodes.Where(n => n.Op == "Sigmoid").ToList())
        {
            string x = sig.In(0)!;
            var mul = Fusion.Single(consumers, sig.Outputs[0]);
            if (mul is not { Op: "Mul" } || !(mul.In(0) == x && mul.In(1) == sig.Outputs[0] || mul.In(1) == x && mul.In(0) == sig.Outputs[0])) continue;
            Fusion.Replace(g, [sig, mul], mul, new OpNode("VgSilu", mul.Name, [x], [mul.Outputs[0]], []));
            report.Count("VgSilu");
        }
    }

    // ---- GroupNormalization [+ SiLU] → VgGroupNorm ---------------------------------------------------------------
    static void FuseGroupNorm(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        foreach (var gn in g.Nodes.Where(n => n.Op == "GroupNormalization").ToList())
        {
            // stash_type 1 (float32 statistics) is what the kernel computes; another stash type stays unsupported
            if (gn.Outputs.Count != 1 || gn.In(1) is null || gn.In(2) is null || gn.Int("stash_type", 1) != 1) continue;
            var removed = new List<OpNode> { gn };
            string output = gn.Outputs[0];
            long silu = 0;
            if (Fusion.Single(consumers, output) is { Op: "VgSilu" } act && !g.Outputs.Any(o => o.Name == output))
            {
                removed.Add(act); output = act.Outputs[0]; silu = 1;
            }
            Fusion.Replace(g, removed, removed[^1], new OpNode("VgGroupNorm", gn.Name, [gn.In(0), gn.In(1), gn.In(2)], [output],
                new() { ["num_groups"] = new(Int: gn.Int("num_groups", 0)), ["epsilon"] = new(Float: gn.Float("epsilon", 1e-5)), ["silu"] = new(Int: silu) }));
            report.Count(silu == 1 ? "VgGroupNorm(silu)" : "VgGroupNorm");
        }
    }

    // ---- Div(x, Max(Sqrt(ReduceSum(x·x, [1])), eps)) · scale · gamma → VgChannelNorm -----------------------
    static void FuseChannelNorm(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var div in g.Nodes.Where(n => n.Op == "Div").ToList())
        {
            string x = div.In(0)!;
            if (!producers.TryGetValue(div.In(1)!, out var max) || max.Op != "Max") continue;
            var epsC = ViewedConstant(g, producers, max.In(1));
            if (epsC is null || epsC.Value.Const.Count != 1 || !producers.TryGetValue(max.In(0)!, out var sqrt) || sqrt.Op != "Sqrt") continue;
            if (!producers.TryGetValue(sqrt.In(0)!, out var sum) || sum.Op != "ReduceSum" || sum.Int("keepdims", 1) != 1) continue;
            var axes = ViewedConstant(g, producers, sum.In(1));
            if (axes is null || axes.Value.Const.ToDoubles() is not [1.0]) continue;
            if (!producers.TryGetValue(sum.In(0)!, out var sq) || sq.Op != "Mul" || sq.In(0) != x || sq.In(1) != x) continue;
            // the weight: the Muls by constants that follow (scale, then gamma [C,1,...]); at least none
            var removed = new List<OpNode> { sq, sum, sqrt, max, div };
            string output = div.Outputs[0];
            double scale = 1;
            double[]? gamma = null;
            while (Fusion.Single(consumers, output) is { Op: "Mul" } m && !g.Outputs.Any(o => o.Name == output))
            {
                string other = m.In(0) == output ? m.In(1)! : m.In(0)!;
                var c = ViewedConstant(g, producers, other);
                if (c is null || c.Value.Const.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16)) break;
                var data = c.Value.Const.ToDoubles();
                if (data.Length == 1) scale *= data[0];
                else if (gamma is null && c.Value.Shape.Length >= 2 && c.Value.Shape.Skip(1).All(d => d == 1)) gamma = data;
                else break;
                removed.Add(m);
                output = m.Outputs[0];
            }
            string wName = div.Name + "#channel_weight";
            var weight = (gamma ?? [1.0]).Select(v => (float)(v * scale)).ToArray();
            if (gamma is null) weight = [(float)scale];
            g.Constants[wName] = new ConstTensor(wName, TensorDType.F32, [weight.Length], () =>
                System.Runtime.InteropServices.MemoryMarshal.AsBytes(weight.AsSpan()).ToArray());
            var fused = new OpNode("VgChannelNorm", div.Name, [x, wName], [output],
                new() { ["epsilon"] = new(Float: epsC.Value.Const.ToDoubles()[0]) });
            Fusion.Replace(g, removed, removed[^1], fused);
            report.Count("VgChannelNorm");
        }
    }

    // ---- Gather(table, device ids) → VgGather with a bf16 table ------------------------------------------------
    static void FuseEmbedding(OpGraph g, FusionReport report)
    {
        var producers = g.Producers();
        foreach (var gather in g.Nodes.Where(n => n.Op == "Gather").ToList())
        {
            if (gather.Int("axis", 0) != 0 || ViewedConstant(g, producers, gather.In(0)) is not { } found) continue;
            var table = found.Const;
            if (table.Shape.Length != 2 || found.Shape.Length != 2 || table.DType is not (TensorDType.F32 or TensorDType.BF16) || g.Constants.ContainsKey(gather.In(1)!)) continue;
            if (!DependsOnDeviceInput(g, gather.In(1)!)) continue;
            string packed = Fusion.PackBf16(g, table);
            Fusion.Replace(g, [gather], gather, new OpNode("VgGather", gather.Name, [packed, gather.In(1)], [gather.Outputs[0]],
                new() { ["rows"] = new(Int: table.Shape[0]), ["width"] = new(Int: table.Shape[1]) }));
            report.Count("VgGather");
        }
    }

    /// <summary>Whether a value is computed from a graph input that is not plan-time (so it lives on the device).</summary>
    static bool DependsOnDeviceInput(OpGraph g, string value)
    {
        var device = new HashSet<string>(g.Inputs.Where(i => !i.PlanTime).Select(i => i.Name), StringComparer.Ordinal);
        foreach (var n in g.Nodes)
            if (n.Op != "Shape" && n.Inputs.Any(i => i is not null && device.Contains(i))) foreach (var o in n.Outputs) device.Add(o);
        return device.Contains(value);
    }

    // ---- Conv weights → fp32 device weights --------------------------------------------------------------------
    static void PackConvWeights(OpGraph g, FusionReport report)
    {
        var producers = g.Producers();
        foreach (var conv in g.Nodes.Where(n => n.Op == "Conv").ToList())
        {
            var w = ViewedConstant(g, producers, conv.In(1));
            if (w is null || w.Value.Const.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16)) continue;
            var (c, shape) = w.Value;
            string name = c.Name + "@" + string.Join("x", shape) + F32Weight;
            if (!g.Constants.ContainsKey(name))
                g.Constants[name] = c.DType == TensorDType.F32 && c.Stored is { } stored && !c.CheckpointTransposed
                    ? new ConstTensor(name, TensorDType.F32, shape, stored.ReadAll) { Stored = stored, Checkpoint = c.Referenceable }
                    : new ConstTensor(name, TensorDType.F32, shape, () => c.DType == TensorDType.F32 ? c.Bytes
                        : System.Runtime.InteropServices.MemoryMarshal.AsBytes(VisualGen.Tensors.ElementConvert.ToFloat32(c.Bytes, c.DType, c.Count).AsSpan()).ToArray());
            var inputs = conv.Inputs.ToArray();
            inputs[1] = name;
            Fusion.Replace(g, [conv], conv, new OpNode("Conv", conv.Name, inputs, conv.Outputs, conv.Attrs));
            report.Count("Conv(cuDNN)");
        }
    }
}
