using VisualGen.Engines.Cuda.Model;

namespace VisualGen.Engines.Cuda.Planning;

/// <summary>What the engine can run, by op type. A node whose op is not here fails the build, naming the node.</summary>
public static class OpRegistry
{
    public static readonly IReadOnlySet<string> Views = new HashSet<string> { "Reshape", "Unsqueeze", "Squeeze", "Flatten", "Identity" };
    public static readonly IReadOnlySet<string> LayoutCopies = new HashSet<string> { "Transpose", "Expand", "Slice", "Split", "Concat" };

    /// <summary>ONNX binary ops → vg_nd_op. Equal on the device gives 1.0/0.0 in float32 (integers compared as floats:
    /// exact below 2^24, token ids); with every input known at plan time it folds on the host like the other comparisons.</summary>
    public static readonly IReadOnlyDictionary<string, int> Binary = new Dictionary<string, int>
    {
        ["Add"] = 1, ["Sub"] = 2, ["Mul"] = 3, ["Div"] = 4, ["Pow"] = 5, ["Max"] = 6, ["Min"] = 7, ["Equal"] = 8,
    };

    /// <summary>Index ops that run on the device when an input lives there (CLIP's pooled output: the EOS position of the
    /// device token ids, then the hidden state there) and fold at plan time when every input is known:
    /// ArgMax → vg_argmax; GatherND (indices [..., 1]) → vg_gather_rows per batch item.</summary>
    public static readonly IReadOnlySet<string> Indexing = new HashSet<string> { "ArgMax", "GatherND" };

    /// <summary>ONNX unary ops → vg_nd_op (Gelu by its approximate attribute; Cast is a copy).</summary>
    public static readonly IReadOnlyDictionary<string, int> Unary = new Dictionary<string, int>
    {
        ["Cast"] = 0, ["Sin"] = 16, ["Cos"] = 17, ["Exp"] = 18, ["Sigmoid"] = 19, ["Neg"] = 20, ["Sqrt"] = 21, ["Tanh"] = 22,
        ["Reciprocal"] = 23, ["Abs"] = 24, ["Relu"] = 25, ["Gelu"] = 26, ["Erf"] = 29, ["Log"] = 30,
        ["VgSilu"] = 28,
    };

    /// <summary>Ops computed only on the host at plan time (from shapes, constants and plan-time inputs). MatMul here is
    /// the weight-free kind (position embeddings); weight GEMMs are fused into VgLinear.</summary>
    public static readonly IReadOnlySet<string> HostOnly = new HashSet<string>
    {
        "Shape", "Gather", "ConstantOfShape", "Range", "MatMul",
        // masks built from positions (causal, windowed): comparisons give 0/1, Where selects
        "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "Or", "And", "Xor",
        // positions from a plan-time attention_mask (Qwen2.5-VL: cumsum(mask) - 1)
        "CumSum",
    };

    public static readonly IReadOnlySet<string> Fused = new HashSet<string>
    {
        "VgLinear", "VgQuantLinear", "VgNorm", "VgRmsNormRope", "VgGatedResidual", "VgPatchConv", "Attention",
        "Conv", "Pad", "VgChannelNorm", "VgGather", "VgGroupNorm", "VgRopeRotateHalf",
        "VgSwiGlu", "VgSiluMul", "LeakyRelu", "VgZeroStuff",
    };

    /// <summary>Ops that fold at plan time when their inputs are known there and run on the device otherwise: Where (masks
    /// select between constants at plan time; LTX-2's connectors select device values by a plan-time mask) and
    /// the reductions (the connectors' sequence lengths and masked maxima).</summary>
    public static readonly IReadOnlySet<string> FoldOrDevice = new HashSet<string> { "Where", "ReduceMax", "ReduceSum", "ReduceMean" };

    public static bool Supports(string op) =>
        Views.Contains(op) || LayoutCopies.Contains(op) || Binary.ContainsKey(op) || Unary.ContainsKey(op) || HostOnly.Contains(op) || Fused.Contains(op)
        || Indexing.Contains(op) || FoldOrDevice.Contains(op);

    /// <summary>Throws an <see cref="EngineException"/> naming every node the engine cannot run.</summary>
    public static void Validate(OpGraph g, string source)
    {
        var bad = g.Nodes.Where(n => !Supports(n.Op)).ToList();
        if (bad.Count > 0)
            throw new EngineException($"{source}: the native CUDA engine cannot run {bad.Count} node(s): " +
                string.Join(", ", bad.Take(8).Select(n => $"'{n.Name}' (op {n.Op})")) + (bad.Count > 8 ? ", ..." : "") +
                ". Add a kernel for the op in native/ and engines/VisualGen.Engines.Cuda, or export the model without it.");
        // host-only ops need inputs known at plan time: constants, plan-time inputs, shapes, and what is computed from them
        var known = new HashSet<string>(g.Constants.Keys, StringComparer.Ordinal);
        foreach (var i in g.Inputs.Where(i => i.PlanTime)) known.Add(i.Name);
        foreach (var n in g.Nodes)
        {
            bool folds = n.Op == "Shape" || (!Fused.Contains(n.Op) && n.Inputs.All(x => x is null || known.Contains(x)));
            if (folds) foreach (var o in n.Outputs) known.Add(o);
            else if (HostOnly.Contains(n.Op))
                throw new EngineException($"{source}: node '{n.Name}' ({n.Op}) runs only at plan time, but its input " +
                    $"'{n.Inputs.First(x => x is not null && !known.Contains(x))}' is computed on the device (a graph input the exporter did not mark as plan-time, or a device result)");
        }
        foreach (var n in g.Nodes.Where(n => n.Op == "Attention"))
        {
            if (n.Inputs.Count > 4 || n.Outputs.Count > 1)
                throw new EngineException($"{source}: node '{n.Name}' (Attention) has a KV cache or extra outputs, which the native CUDA engine does not run (an additive or boolean mask input and is_causal are run)");
            // a causal attention's mask is made when the shape is planned, together with any mask input: that one must be known then
            if (n.Int("is_causal", 0) != 0 && n.In(3) is string m && !known.Contains(m))
                throw new EngineException($"{source}: node '{n.Name}' (Attention) is causal with a mask computed on the device; the native CUDA engine " +
                    "joins a causal flag with a mask known when the shape is planned (mark the mask's graph input as plan-time)");
        }
        foreach (var n in g.Nodes.Where(n => n.Op == "Conv"))
            if (n.Int("group", 1) != 1 || n.In(1) is not string w || !w.EndsWith(EncoderFusion.F32Weight, StringComparison.Ordinal))
                throw new EngineException($"{source}: node '{n.Name}' (Conv) has groups or a weight that is not a float32 constant, which the native CUDA engine does not run");
    }
}
