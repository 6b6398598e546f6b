using VisualGen.Checkpoints;

namespace VisualGen.Engines.Cuda.Model;

/// <summary>An attribute value of a node: an integer, a float, a string or a list of integers.</summary>
public sealed record OpAttr(long? Int = null, double? Float = null, string? Text = null, long[]? Ints = null);

/// <summary>One node of the engine's graph: an ONNX op, or one of the engine's fused ops (domain "vg").</summary>
public sealed class OpNode(string op, string name, IReadOnlyList<string?> inputs, IReadOnlyList<string> outputs, Dictionary<string, OpAttr> attrs)
{
    public string Op { get; } = op;
    public string Name { get; } = name;
    public IReadOnlyList<string?> Inputs { get; } = inputs;
    public IReadOnlyList<string> Outputs { get; } = outputs;
    public Dictionary<string, OpAttr> Attrs { get; } = attrs;

    public long Int(string key, long fallback) => Attrs.TryGetValue(key, out var a) && a.Int is long v ? v : fallback;
    public double Float(string key, double fallback) => Attrs.TryGetValue(key, out var a) && a.Float is double v ? v : fallback;
    public string Text(string key, string fallback) => Attrs.TryGetValue(key, out var a) && a.Text is string v ? v : fallback;
    public long[]? Ints(string key) => Attrs.TryGetValue(key, out var a) ? a.Ints : null;
    public string? In(int i) => i < Inputs.Count ? Inputs[i] : null;
    public override string ToString() => $"{Name} ({Op})";
}

/// <summary>A constant tensor (an initializer) whose bytes are read on demand.</summary>
public sealed class ConstTensor(string name, TensorDType dtype, long[] shape, Func<byte[]> read)
{
    byte[]? _bytes;
    public string Name { get; } = name;
    public TensorDType DType { get; } = dtype;
    public long[] Shape { get; } = shape;
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    public byte[] Bytes => _bytes ??= Stored is { } s ? s.ReadAll() : read();
    /// <summary>Drops the cached bytes (large weights after packing).</summary>
    public void Release() => _bytes = null;

    /// <summary>Where this constant's bytes lie as they are in a file that stays readable for now (ONNX external data,
    /// an entry's weights.bin, a checkpoint): read through a memory map instead of <c>read</c>.</summary>
    public FileRange? Stored { get; init; }

    /// <summary>The checkpoint tensor this constant is (its stored bytes, or with <see cref="CheckpointTransposed"/> the
    /// 2-D transpose of them): an engine entry may reference the checkpoint file instead of copying the bytes.</summary>
    public FileRange? Checkpoint { get; init; }

    /// <summary>Whether this constant is the [cols, rows] transpose of the stored [rows, cols] <see cref="Checkpoint"/> tensor.</summary>
    public bool CheckpointTransposed { get; init; }

    /// <summary>The checkpoint range an entry may reference for this constant: the checkpoint's bytes as they are.</summary>
    public FileRange? Referenceable => CheckpointTransposed ? null : Checkpoint;

    /// <summary>Hands the bytes to <paramref name="use"/> without caching them: cached bytes if any, else a memory-mapped
    /// view of <see cref="Stored"/>, else the bytes read (and dropped after).</summary>
    public void WithBytes(FileRange.SpanAction use)
    {
        if (_bytes is { } cached) { use(cached); return; }
        if (Stored is { } s) { s.WithMapped(use); return; }
        use(read());
    }

    public double[] ToDoubles()
    {
        var b = Bytes;
        var r = new double[Count];
        switch (DType)
        {
            case TensorDType.F32: { var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case TensorDType.I64: { var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(b); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case TensorDType.I32: { var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(b); for (int i = 0; i < r.Length; i++) r[i] = s[i]; break; }
            case TensorDType.U8: for (int i = 0; i < r.Length; i++) r[i] = b[i]; break;
            case TensorDType.F64: { var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(b); s.CopyTo(r); break; }
            case TensorDType.BF16 or TensorDType.F16:
            {
                var f = VisualGen.Tensors.ElementConvert.ToFloat32(b, DType, Count);
                for (int i = 0; i < r.Length; i++) r[i] = f[i];
                break;
            }
            default: throw new EngineException($"constant '{Name}': element type {DType} is not supported by the native CUDA engine");
        }
        return r;
    }
}

/// <summary>A graph input or output with its ONNX element type and dims (numbers or symbolic names).</summary>
/// <summary>A graph input or output. <see cref="PlanTime"/> inputs (named by the exporter in the model metadata
/// <see cref="OnnxGraphReader.PlanTimeInputsKey"/>, e.g. position ids) are read on the host when a shape is planned and
/// folded like constants; their values are part of the plan's key.</summary>
public sealed record OpPort(string Name, TensorDType DType, string[] Dims, bool PlanTime = false);

/// <summary>The graph the engine plans from: nodes in topological order, constants, inputs and outputs.</summary>
public sealed class OpGraph
{
    public List<OpNode> Nodes { get; } = [];
    public Dictionary<string, ConstTensor> Constants { get; } = new(StringComparer.Ordinal);
    public List<OpPort> Inputs { get; } = [];
    public List<OpPort> Outputs { get; } = [];

    /// <summary>Consumers of each value (node indices), recomputed on demand.</summary>
    public Dictionary<string, List<OpNode>> Consumers()
    {
        var map = new Dictionary<string, List<OpNode>>(StringComparer.Ordinal);
        foreach (var n in Nodes)
            foreach (var i in n.Inputs)
                if (i is not null)
                {
                    if (!map.TryGetValue(i, out var l)) map[i] = l = [];
                    l.Add(n);
                }
        return map;
    }

    public Dictionary<string, OpNode> Producers()
    {
        var map = new Dictionary<string, OpNode>(StringComparer.Ordinal);
        foreach (var n in Nodes) foreach (var o in n.Outputs) map[o] = n;
        return map;
    }

    /// <summary>Removes nodes whose outputs nobody uses (after fusion).</summary>
    public void RemoveDeadNodes()
    {
        var live = new HashSet<string>(Outputs.Select(o => o.Name), StringComparer.Ordinal);
        var keep = new List<OpNode>();
        for (int i = Nodes.Count - 1; i >= 0; i--)
        {
            var n = Nodes[i];
            if (!n.Outputs.Any(live.Contains)) continue;
            keep.Add(n);
            foreach (var x in n.Inputs) if (x is not null) live.Add(x);
        }
        keep.Reverse();
        Nodes.Clear();
        Nodes.AddRange(keep);
        foreach (var k in Constants.Keys.Where(k => !live.Contains(k)).ToList()) Constants.Remove(k);
    }
}
