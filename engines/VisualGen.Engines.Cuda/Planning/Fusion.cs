using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Tensors;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>
/// Rewrites the exporter's node patterns into the engine's fused ops (names start with "Vg"):
/// <list type="bullet">
/// <item><c>MatMul(x, W) [+ Add bias] [+ Gelu(tanh)]</c> → <c>VgLinear</c> (cuBLASLt GEMM with epilogue; W packed bf16 [N,K]);</item>
/// <item>the same with a quantized W (the exporter's dequantize ops) → <c>VgQuantLinear</c> (<see cref="QuantizedLinearFusion"/>);</item>
/// <item><c>LayerNormalization(x, ones) · Add(1, scale) + shift</c> → <c>VgNorm</c> with modulation; other Layer/RMS norms → <c>VgNorm</c>;</item>
/// <item><c>RMSNormalization</c> + RotaryEmbedding.ApplyInterleaved's reshape/split/rotate/concat → <c>VgRmsNormRope</c>;</item>
/// <item><c>x + y · gate</c> → <c>VgGatedResidual</c>;</item>
/// <item><c>Conv</c> with kernel == stride, no padding → <c>VgPatchConv</c> (im2col permute + GEMM);</item>
/// <item>an <c>Attention</c> mask that is the <c>Expand</c> of a smaller one → that one, broadcast by the kernel;</item>
/// <item><c>x·cos + rotate_half(x)·sin</c> → <c>VgRopeRotateHalf</c> (<see cref="RotateHalfFusion"/>);</item>
/// <item>SwiGLU's <c>silu(a) · b</c> → <c>VgSwiGlu</c> / <c>VgSiluMul</c> (<see cref="SwiGluFusion"/>).</item>
/// </list>
/// Everything else stays an ONNX node for the generic kernels; <see cref="OpRegistry"/> says which ops run at all.
/// </summary>
public static class Fusion
{
    public static FusionReport Apply(OpGraph g)
    {
        var report = new FusionReport();
        FuseRope(g, report);
        QuantizedLinearFusion.Apply(g, report);
        FuseLinear(g, report);
        FuseConv(g, report);
        FuseNormModulate(g, report);
        RotateHalfFusion.Apply(g, report); // before the gated residuals, which would take its sum of products
        FuseGatedResidual(g, report);
        FuseNorms(g, report);
        BroadcastMasks(g, report);
        EncoderFusion.Apply(g, report);
        SwiGluFusion.Apply(g, report);
        g.RemoveDeadNodes();
        return report;
    }

    // ---- helpers -------------------------------------------------------------------------------
    internal static OpNode? Single(Dictionary<string, List<OpNode>> consumers, string value) =>
        consumers.TryGetValue(value, out var l) && l.Count == 1 ? l[0] : null;

    static double? Scalar(OpGraph g, string? name)
    {
        if (name is null || !g.Constants.TryGetValue(name, out var c) || c.Count != 1) return null;
        return c.ToDoubles()[0];
    }

    static bool AllOnes(OpGraph g, string? name)
    {
        if (name is null || !g.Constants.TryGetValue(name, out var c) || c.DType != TensorDType.F32) return false;
        return c.ToDoubles().All(v => v == 1.0);
    }

    static string Other(OpNode n, string value) => n.In(0) == value ? n.In(1)! : n.In(0)!;

    internal static void Replace(OpGraph g, IReadOnlyCollection<OpNode> remove, OpNode insertAt, OpNode fused)
    {
        int idx = g.Nodes.IndexOf(insertAt);
        g.Nodes[idx] = fused;
        foreach (var r in remove) if (r != insertAt) g.Nodes.Remove(r);
    }

    // ---- MatMul (+bias) (+gelu) → VgLinear ---------------------------------------------------------
    static void FuseLinear(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var mm in g.Nodes.Where(n => n.Op == "MatMul").ToList())
        {
            // the weight: a float32 constant, or the float32 Cast of a 16-bit checkpoint weight
            if (EncoderFusion.ViewedConstant(g, producers, mm.In(1)) is not { } found || found.Shape.Length != 2 || found.Const.Shape.Length != 2) continue;
            var wc = found.Const;
            if (wc.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16)) continue;
            long k = wc.Shape[0], n = wc.Shape[1];
            var (removed, output, bias, epilogue) = LinearEpilogue(g, consumers, producers, mm, n);
            string packed = PackNk(g, wc);
            var fused = new OpNode("VgLinear", mm.Name, [mm.In(0), packed, bias], [output],
                new() { ["epilogue"] = new(Int: epilogue), ["n"] = new(Int: n), ["k"] = new(Int: k) });
            Replace(g, removed, removed[^1], fused);
            report.Count("VgLinear");
        }
    }

    /// <summary>What follows a linear's MatMul and fuses into its GEMM's epilogue: <c>Add</c> of a constant [N] bias, then
    /// <c>Gelu(tanh)</c>. Returns the nodes the fused op replaces (the MatMul first), its output and the epilogue
    /// (vg_epilogue: 0 none, 1 bias, 2 GELU, 3 bias + GELU).</summary>
    internal static (List<OpNode> Removed, string Output, string? Bias, int Epilogue) LinearEpilogue(OpGraph g,
        Dictionary<string, List<OpNode>> consumers, Dictionary<string, OpNode> producers, OpNode mm, long n)
    {
        var removed = new List<OpNode> { mm };
        string output = mm.Outputs[0];
        string? bias = null;
        int epilogue = 0;
        var add = Single(consumers, output);
        if (add is { Op: "Add" } && !g.Outputs.Any(o => o.Name == output))
        {
            string other = Other(add, output);
            if (EncoderFusion.ViewedConstant(g, producers, other) is { } b && b.Shape.Length == 1 && b.Shape[0] == n
                && b.Const.Shape.Length == 1 && b.Const.DType is TensorDType.F32 or TensorDType.BF16 or TensorDType.F16)
            {
                bias = b.Const.Name; epilogue = 1; removed.Add(add); output = add.Outputs[0];
            }
        }
        var gelu = Single(consumers, output);
        if (gelu is { Op: "Gelu" } && gelu.Text("approximate", "none") == "tanh" && !g.Outputs.Any(o => o.Name == output))
        {
            epilogue = epilogue == 1 ? 3 : 2; removed.Add(gelu); output = gelu.Outputs[0];
        }
        return (removed, output, bias, epilogue);
    }

    /// <summary>Adds the bf16 [N,K] copy of a [K,N] MatMul weight (fp32, or the 16-bit checkpoint values), converted
    /// when its bytes are read. A bf16 weight the exporter wrote as the transpose of a checkpoint's [out, in] tensor is
    /// that tensor's stored bytes: the packed constant is the checkpoint range itself, nothing is transposed back.</summary>
    static string PackNk(OpGraph g, ConstTensor kn)
    {
        string name = kn.Name + "#bf16nk";
        if (g.Constants.ContainsKey(name)) return name;
        long k = kn.Shape[0], n = kn.Shape[1];
        if (kn.DType == TensorDType.BF16 && kn.CheckpointTransposed && kn.Checkpoint is { } stored)
        {
            g.Constants[name] = new ConstTensor(name, TensorDType.BF16, [n, k], stored.ReadAll) { Stored = stored, Checkpoint = stored };
            return name;
        }
        g.Constants[name] = new ConstTensor(name, TensorDType.BF16, [n, k], () =>
        {
            var dst = GC.AllocateUninitializedArray<byte>(checked((int)(n * k * 2)));
            if (kn.DType == TensorDType.BF16)
                kn.WithBytes(src => Transpose2d.Run(src, dst, k, n, 2));
            else
            {
                var src = ElementConvert.ToFloat32(kn.Bytes, kn.DType, kn.Count);
                var d16 = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(dst.AsSpan());
                for (int i = 0; i < src.Length; i++) d16[i] = ElementConvert.FloatToBFloat16(src[i]);
                var kn16 = d16.ToArray();
                Transpose2d.Run(System.Runtime.InteropServices.MemoryMarshal.AsBytes(kn16.AsSpan()), dst, k, n, 2);
            }
            kn.Release();
            return dst;
        });
        return name;
    }

    /// <summary>Adds the bf16 copy of an fp32 constant in its own layout (embedding tables).</summary>
    internal static string PackBf16(OpGraph g, ConstTensor c)
    {
        string name = c.Name + "#bf16";
        if (g.Constants.ContainsKey(name)) return name;
        g.Constants[name] = Bf16Const(name, c, c.Shape);
        return name;
    }

    /// <summary>A constant holding <paramref name="c"/>'s values as bf16 in its own layout, under a new name and shape
    /// of the same element count: a bf16 constant's bytes as they are (where they lie in a file, read from there), others
    /// converted when read.</summary>
    internal static ConstTensor Bf16Const(string name, ConstTensor c, long[] shape) =>
        c.DType == TensorDType.BF16 && c.Stored is { } stored && !c.CheckpointTransposed
            ? new ConstTensor(name, TensorDType.BF16, shape, stored.ReadAll) { Stored = stored, Checkpoint = c.Referenceable }
            : new ConstTensor(name, TensorDType.BF16, shape, () => Bf16Bytes(c));

    /// <summary>A float constant's values as bf16 bytes in its own layout (16-bit checkpoint values as they are), the
    /// source's cached bytes released.</summary>
    static byte[] Bf16Bytes(ConstTensor c)
    {
        byte[] result;
        if (c.DType == TensorDType.BF16) result = c.Bytes;
        else
        {
            var src = ElementConvert.ToFloat32(c.Bytes, c.DType, c.Count);
            var dst = new ushort[src.Length];
            for (int i = 0; i < src.Length; i++) dst[i] = ElementConvert.FloatToBFloat16(src[i]);
            result = System.Runtime.InteropServices.MemoryMarshal.AsBytes(dst.AsSpan()).ToArray();
        }
        c.Release();
        return result;
    }

    // ---- Conv (kernel == stride) → VgPatchConv ------------------------------------------------------
    static void FuseConv(OpGraph g, FusionReport report)
    {
        var producers = g.Producers();
        foreach (var conv in g.Nodes.Where(n => n.Op == "Conv").ToList())
        {
            if (EncoderFusion.ViewedConstant(g, producers, conv.In(1)) is not { } found) continue;
            var wc = found.Const;
            if (wc.DType is not (TensorDType.F32 or TensorDType.BF16 or TensorDType.F16) || found.Shape.Length < 3 || wc.Count != found.Shape.Aggregate(1L, (a, b) => a * b)) continue;
            long[] kernel = found.Shape[2..];
            long[] strides = conv.Ints("strides") ?? Enumerable.Repeat(1L, kernel.Length).ToArray();
            long[] pads = conv.Ints("pads") ?? new long[kernel.Length * 2];
            long[] dil = conv.Ints("dilations") ?? Enumerable.Repeat(1L, kernel.Length).ToArray();
            // 1×1 convolutions (VAE projections) stay Conv: cuDNN runs them in the activations' precision
            if (kernel.All(k => k == 1) || !kernel.SequenceEqual(strides) || pads.Any(p => p != 0) || dil.Any(d => d != 1) || conv.Int("group", 1) != 1) continue;
            long n = found.Shape[0], kTotal = wc.Count / n;
            string name = wc.Name + "#bf16nk";
            // [out, in, k...] row-major is already [N, K] with K = in · k...: only the precision changes
            g.Constants[name] = Bf16Const(name, wc, [n, kTotal]);
            var fused = new OpNode("VgPatchConv", conv.Name, [conv.In(0), name, conv.In(2)], [conv.Outputs[0]],
                new() { ["kernel"] = new(Ints: kernel), ["n"] = new(Int: n) });
            Replace(g, [conv], conv, fused);
            report.Count("VgPatchConv");
        }
    }

    // ---- LayerNorm(no affine) · (1 + scale) + shift → VgNorm with modulation -------------------------
    static void FuseNormModulate(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var ln in g.Nodes.Where(n => n.Op == "LayerNormalization").ToList())
        {
            if (ln.Int("axis", -1) != -1 || !AllOnes(g, ln.In(1)) || ln.In(2) is not null || ln.Outputs.Count != 1) continue;
            var mul = Single(consumers, ln.Outputs[0]);
            if (mul is not { Op: "Mul" }) continue;
            string onePlus = Other(mul, ln.Outputs[0]);
            if (!producers.TryGetValue(onePlus, out var addOne) || addOne.Op != "Add") continue;
            string? scale = Scalar(g, addOne.In(0)) == 1.0 ? addOne.In(1) : Scalar(g, addOne.In(1)) == 1.0 ? addOne.In(0) : null;
            if (scale is null) continue;
            var addShift = Single(consumers, mul.Outputs[0]);
            if (addShift is not { Op: "Add" }) continue;
            string shift = Other(addShift, mul.Outputs[0]);
            var fused = new OpNode("VgNorm", ln.Name, [ln.In(0), null, null, scale, shift], [addShift.Outputs[0]],
                new() { ["kind"] = new(Int: 0), ["epsilon"] = new(Float: ln.Float("epsilon", 1e-5)) });
            Replace(g, [ln, mul, addShift], addShift, fused);
            report.Count("VgNorm(modulate)");
        }
    }

    static void FuseNorms(OpGraph g, FusionReport report)
    {
        foreach (var n in g.Nodes.Where(n => n.Op is "LayerNormalization" or "RMSNormalization").ToList())
        {
            if (n.Int("axis", -1) != -1 || n.Outputs.Count != 1) continue;
            bool layer = n.Op == "LayerNormalization";
            string? weight = AllOnes(g, n.In(1)) ? null : n.In(1);
            var fused = new OpNode("VgNorm", n.Name, [n.In(0), weight, layer ? n.In(2) : null, null, null], [n.Outputs[0]],
                new() { ["kind"] = new(Int: layer ? 0 : 1), ["epsilon"] = new(Float: n.Float("epsilon", 1e-5)) });
            Replace(g, [n], n, fused);
            report.Count(layer ? "VgNorm(layer)" : "VgNorm(rms)");
        }
    }

    // ---- Attention(q, k, v, Expand(mask)) → Attention(q, k, v, mask) -------------------------------------------
    /// <summary>Exporters expand a [batch, 1, 1, kv] padding mask over the queries for ONNX Runtime, whose Attention does
    /// not broadcast it; the engine's softmax reads a mask through broadcast strides, so the expanded copy (batch · q · kv
    /// floats per attention) is never made. The Expand stays if anything else reads it.</summary>
    static void BroadcastMasks(OpGraph g, FusionReport report)
    {
        var producers = g.Producers();
        for (int i = 0; i < g.Nodes.Count; i++)
        {
            var n = g.Nodes[i];
            if (n.Op != "Attention" || n.In(3) is not string mask || !producers.TryGetValue(mask, out var expand) || expand.Op != "Expand") continue;
            if (expand.In(0) is not string small) continue;
            var inputs = n.Inputs.ToArray();
            inputs[3] = small;
            g.Nodes[i] = new OpNode(n.Op, n.Name, inputs, n.Outputs, n.Attrs);
            report.Count("Attention(mask broadcast)");
        }
    }

    // ---- x + y · gate → VgGatedResidual -------------------------------------------------------------
    static void FuseGatedResidual(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var add in g.Nodes.Where(n => n.Op == "Add").ToList())
        {
            for (int side = 0; side < 2; side++)
            {
                string? m = add.In(side), x = add.In(1 - side);
                if (m is null || x is null || g.Constants.ContainsKey(x) || !producers.TryGetValue(m, out var mul) || mul.Op != "Mul") continue;
                if (Single(consumers, m) != add || mul.Inputs.Any(i => i is null || g.Constants.ContainsKey(i))) continue;
                var fused = new OpNode("VgGatedResidual", add.Name, [x, mul.In(0), mul.In(1)], [add.Outputs[0]], []);
                Replace(g, [mul, add], add, fused);
                report.Count("VgGatedResidual");
                break;
            }
        }
    }

    // ---- RMSNorm + RotaryEmbedding.ApplyInterleaved → VgRmsNormRope -------------------------------------------
    static void FuseRope(OpGraph g, FusionReport report)
    {
        var consumers = g.Consumers();
        var producers = g.Producers();
        foreach (var r1 in g.Nodes.Where(n => n.Op == "Reshape").ToList())
        {
            var m = MatchRope(g, consumers, producers, r1);
            if (m is null) continue;
            var (nodes, x, weight, eps, cos, sin, heads, headDim, output, norm) = m.Value;
            var fused = new OpNode("VgRmsNormRope", r1.Name, [x, weight, cos, sin], [output],
                new() { ["heads"] = new(Int: heads), ["head_dim"] = new(Int: headDim), ["epsilon"] = new(Float: eps), ["apply_norm"] = new(Int: norm ? 1 : 0) });
            Replace(g, nodes, nodes[^1], fused);
            report.Count("VgRmsNormRope");
        }
    }

    static (List<OpNode> Nodes, string X, string? Weight, double Eps, string Cos, string Sin, long Heads, long HeadDim, string Output, bool Norm)?
        MatchRope(OpGraph g, Dictionary<string, List<OpNode>> consumers, Dictionary<string, OpNode> producers, OpNode r1)
    {
        if (r1.In(1) is not string shapeName || !g.Constants.TryGetValue(shapeName, out var sc) || sc.Count != 5) return null;
        var shape = sc.ToDoubles();
        if (shape[4] != 2 || shape[0] != 0 || shape[1] != 0) return null;
        long heads = (long)shape[2], headDim = (long)shape[3] * 2;
        var split = Single(consumers, r1.Outputs[0]);
        if (split is not { Op: "Split" } || split.Outputs.Count != 2 || split.Int("axis", 0) != -1) return null;
        var sq1 = Single(consumers, split.Outputs[0]);
        var sq2 = Single(consumers, split.Outputs[1]);
        if (sq1 is not { Op: "Squeeze" } || sq2 is not { Op: "Squeeze" }) return null;
        string x1 = sq1.Outputs[0], x2 = sq2.Outputs[0];
        if (!consumers.TryGetValue(x1, out var c1) || !consumers.TryGetValue(x2, out var c2) || c1.Count != 2 || c2.Count != 2) return null;
        if (c1.Concat(c2).Any(n => n.Op != "Mul")) return null;
        // o1 = x1*c - x2*s (Sub), o2 = x1*s + x2*c (Add)
        OpNode? sub = null, addN = null;
        foreach (var mul in c1)
        {
            var use = Single(consumers, mul.Outputs[0]);
            if (use?.Op == "Sub" && use.In(0) == mul.Outputs[0]) sub = use;
            else if (use?.Op == "Add") addN = use;
        }
        if (sub is null || addN is null) return null;
        var x1c = c1.First(n => n.Outputs[0] == sub.In(0));
        var x1s = c1.First(n => n != x1c);
        var x2s = c2.FirstOrDefault(n => n.Outputs[0] == sub.In(1));
        var x2c = c2.FirstOrDefault(n => n != x2s);
        if (x2s is null || x2c is null || !addN.Inputs.Contains(x1s.Outputs[0]) || !addN.Inputs.Contains(x2c.Outputs[0])) return null;
        string cu = Other(x1c, x1), su = Other(x1s, x1);
        if (Other(x2c, x2) != cu || Other(x2s, x2) != su) return null;
        if (!producers.TryGetValue(cu, out var cosUnsq) || cosUnsq.Op != "Unsqueeze" || !producers.TryGetValue(su, out var sinUnsq) || sinUnsq.Op != "Unsqueeze") return null;
        if (Scalar(g, cosUnsq.In(1)) != 1 || Scalar(g, sinUnsq.In(1)) != 1) return null;
        var u1 = Single(consumers, sub.Outputs[0]);
        var u2 = Single(consumers, addN.Outputs[0]);
        if (u1 is not { Op: "Unsqueeze" } || u2 is not { Op: "Unsqueeze" }) return null;
        var cat = Single(consumers, u1.Outputs[0]);
        if (cat is not { Op: "Concat" } || Single(consumers, u2.Outputs[0]) != cat || cat.Inputs.Count != 2 || cat.In(0) != u1.Outputs[0]) return null;
        var r2 = Single(consumers, cat.Outputs[0]);
        if (r2 is not { Op: "Reshape" }) return null;
        var nodes = new List<OpNode> { r1, split, sq1, sq2, x1c, x1s, x2s, x2c, sub, addN, u1, u2, cat, r2 };
        string x = r1.In(0)!;
        string? weight = null; double eps = 1e-6; bool norm = false;
        if (producers.TryGetValue(x, out var rms) && rms.Op == "RMSNormalization" && Single(consumers, x) == r1 && rms.Int("axis", -1) == -1)
        {
            nodes.Insert(0, rms);
            x = rms.In(0)!; weight = AllOnes(g, rms.In(1)) ? null : rms.In(1); eps = rms.Float("epsilon", 1e-5); norm = true;
        }
        return (nodes, x, weight, eps, cosUnsq.In(0)!, sinUnsq.In(0)!, heads, headDim, r2.Outputs[0], norm);
    }
}

/// <summary>How many of each fused op the pass produced.</summary>
public sealed class FusionReport
{
    public SortedDictionary<string, int> Counts { get; } = new(StringComparer.Ordinal);
    public void Count(string op) => Counts[op] = Counts.GetValueOrDefault(op) + 1;
    public override string ToString() => string.Join(", ", Counts.Select(kv => $"{kv.Key}×{kv.Value}"));
}
