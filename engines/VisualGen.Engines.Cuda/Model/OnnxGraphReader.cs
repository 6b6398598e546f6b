using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Onnx.Proto;

namespace VisualGen.Engines.Cuda.Model;

/// <summary>Reads an ONNX model (with external data beside it) into an <see cref="OpGraph"/>. Weights stay on disk
/// until a constant's bytes are asked for.</summary>
public static class OnnxGraphReader
{
    /// <summary>Model metadata key: comma-separated graph inputs whose values fix the plan (see <see cref="OpPort.PlanTime"/>).</summary>
    public const string PlanTimeInputsKey = GraphMetadata.PlanTimeInputs;

    public static OpGraph Read(string onnxPath)
    {
        if (!File.Exists(onnxPath)) throw new EngineException($"graph file not found: {onnxPath}");
        ModelProto model;
        using (var s = File.OpenRead(onnxPath)) model = ModelProto.Parser.ParseFrom(s);
        string dir = Path.GetDirectoryName(Path.GetFullPath(onnxPath))!;
        var g = new OpGraph();
        var graph = model.Graph;
        var checkpoint = CheckpointMap(model, onnxPath);
        foreach (var t in graph.Initializer)
            g.Constants[t.Name] = ReadTensor(t, dir, onnxPath, checkpoint);
        var planTime = model.MetadataProps.FirstOrDefault(p => p.Key == PlanTimeInputsKey)?.Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal) ?? [];
        foreach (var i in graph.Input)
            if (!g.Constants.ContainsKey(i.Name)) g.Inputs.Add(Port(i) with { PlanTime = planTime.Contains(i.Name) });
        foreach (var name in planTime)
            if (!g.Inputs.Any(i => i.Name == name))
                throw new EngineException($"{onnxPath}: metadata '{PlanTimeInputsKey}' names '{name}', which is not a graph input");
        foreach (var o in graph.Output) g.Outputs.Add(Port(o));
        int unnamed = 0;
        foreach (var n in graph.Node)
        {
            var attrs = new Dictionary<string, OpAttr>(StringComparer.Ordinal);
            foreach (var a in n.Attribute)
                attrs[a.Name] = a.Type switch
                {
                    AttributeProto.Types.AttributeType.Int => new OpAttr(Int: a.I),
                    AttributeProto.Types.AttributeType.Float => new OpAttr(Float: a.F),
                    AttributeProto.Types.AttributeType.String => new OpAttr(Text: a.S.ToStringUtf8()),
                    AttributeProto.Types.AttributeType.Ints => new OpAttr(Ints: a.Ints.ToArray()),
                    AttributeProto.Types.AttributeType.Floats => new OpAttr(),
                    var other => throw new EngineException($"{onnxPath}: node '{n.Name}' ({n.OpType}) attribute '{a.Name}' has type {other}, which the native CUDA engine does not read"),
                };
            if (n.Domain.Length > 0 && n.Domain != "ai.onnx")
                throw new EngineException($"{onnxPath}: node '{n.Name}' ({n.OpType}) is in domain '{n.Domain}', which the native CUDA engine does not run");
            if (FoldCheckpointTranspose(g, n, attrs)) continue;
            g.Nodes.Add(new OpNode(n.OpType, n.Name.Length > 0 ? n.Name : $"{n.OpType}_{unnamed++}",
                n.Input.Select(x => x.Length == 0 ? null : x).ToList(), n.Output.ToList(), attrs));
        }
        return g;
    }

    /// <summary>A <c>Transpose</c> (perm [1, 0]) of a 2-D checkpoint tensor (how the exporter's checkpoint-referencing
    /// graphs give MatMul its [in, out] weight) becomes the constant it computes, known as the transpose of the stored
    /// tensor: the packed bf16 [N, K] weight is then the checkpoint's bytes as they are. Its own bytes are transposed only
    /// if something reads them.</summary>
    static bool FoldCheckpointTranspose(OpGraph g, NodeProto n, Dictionary<string, OpAttr> attrs)
    {
        if (n.OpType != "Transpose" || n.Input.Count != 1 || n.Output.Count != 1) return false;
        if (!g.Constants.TryGetValue(n.Input[0], out var src) || src.Shape.Length != 2 || src.Referenceable is not { } stored) return false;
        if (!attrs.TryGetValue("perm", out var perm) || perm.Ints is not [1, 0]) return false;
        long rows = src.Shape[0], cols = src.Shape[1];
        int es = src.DType.SizeOf();
        g.Constants[n.Output[0]] = new ConstTensor(n.Output[0], src.DType, [cols, rows], () =>
        {
            var dst = GC.AllocateUninitializedArray<byte>(checked((int)(rows * cols * es)));
            src.WithBytes(b => VisualGen.Tensors.Transpose2d.Run(b, dst, rows, cols, es));
            return dst;
        }) { Checkpoint = stored, CheckpointTransposed = true };
        return true;
    }

    static OpPort Port(ValueInfoProto v)
    {
        var tt = v.Type.TensorType;
        var dims = tt.Shape?.Dim.Select(d => d.HasDimValue ? d.DimValue.ToString() : d.DimParam).ToArray() ?? [];
        return new OpPort(v.Name, FromOnnx(tt.ElemType, v.Name), dims);
    }

    public static TensorDType FromOnnx(int t, string what) => t switch
    {
        1 => TensorDType.F32,
        7 => TensorDType.I64,
        6 => TensorDType.I32,
        11 => TensorDType.F64,
        16 => TensorDType.BF16,
        10 => TensorDType.F16,
        9 => TensorDType.Bool,
        17 => TensorDType.F8E4M3,
        2 => TensorDType.U8,
        _ => throw new EngineException($"'{what}': ONNX element type {t} is not supported by the native CUDA engine"),
    };

    /// <summary>The exporter's record of which initializers are checkpoint tensors (<see cref="GraphMetadata.CheckpointTensors"/>):
    /// name → (range of the stored bytes, transposed).</summary>
    static Dictionary<string, (FileRange Range, bool Transposed)> CheckpointMap(ModelProto model, string onnxPath)
    {
        var result = new Dictionary<string, (FileRange, bool)>(StringComparer.Ordinal);
        var json = model.MetadataProps.FirstOrDefault(p => p.Key == GraphMetadata.CheckpointTensors)?.Value;
        if (json is null) return result;
        CheckpointTensorMap? map;
        try { map = CheckpointTensorMap.FromJson(json); }
        catch (System.Text.Json.JsonException e) { throw new EngineException($"{onnxPath}: metadata '{GraphMetadata.CheckpointTensors}' is not valid ({e.Message})"); }
        if (map?.Files is null || map.Tensors is null) return result;
        foreach (var (name, v) in map.Tensors)
        {
            if (v.Length != 4 || v[0] < 0 || v[0] >= map.Files.Count || v[1] < 0 || v[2] < 0)
                throw new EngineException($"{onnxPath}: metadata '{GraphMetadata.CheckpointTensors}' entry of '{name}' is not [file, offset, length, transposed]");
            result[name] = (new FileRange(map.Files[(int)v[0]], v[1], v[2]), v[3] != 0);
        }
        return result;
    }

    static ConstTensor ReadTensor(TensorProto t, string dir, string onnxPath, Dictionary<string, (FileRange Range, bool Transposed)> checkpoint)
    {
        var dtype = FromOnnx(t.DataType, t.Name);
        long[] shape = t.Dims.ToArray();
        long bytes = shape.Aggregate(1L, (a, b) => a * b) * dtype.SizeOf();
        FileRange? ckpt = null;
        bool transposed = false;
        if (checkpoint.TryGetValue(t.Name, out var c) && c.Range.Length == bytes && (!c.Transposed || shape.Length == 2))
            (ckpt, transposed) = c;
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
        {
            string? loc = null; long offset = 0, length = -1;
            foreach (var e in t.ExternalData)
            {
                if (e.Key == "location") loc = e.Value;
                else if (e.Key == "offset") offset = long.Parse(e.Value);
                else if (e.Key == "length") length = long.Parse(e.Value);
            }
            if (loc is null) throw new EngineException($"{onnxPath}: initializer '{t.Name}' has external data without a location");
            string file = Path.Combine(dir, loc);
            long count = shape.Aggregate(1L, (a, b) => a * b);
            if (length < 0) length = count * dtype.SizeOf();
            if (length != bytes) throw new EngineException($"{onnxPath}: initializer '{t.Name}' has {length} bytes of external data; its shape and type need {bytes}");
            if (!File.Exists(file)) throw new EngineException($"{onnxPath}: external data file '{file}' of '{t.Name}' not found");
            // read through a memory map: no FileStream buffer, and a constant written to an entry is copied span to span
            return new ConstTensor(t.Name, dtype, shape, () => throw new InvalidOperationException("read through Stored"))
            {
                Stored = new FileRange(file, offset, length), Checkpoint = ckpt, CheckpointTransposed = transposed,
            };
        }
        if (t.RawData.Length > 0) { var raw = t.RawData.ToByteArray(); return new ConstTensor(t.Name, dtype, shape, () => raw) { Checkpoint = ckpt, CheckpointTransposed = transposed }; }
        if (t.FloatData.Count > 0) { var f = t.FloatData.ToArray(); return new ConstTensor(t.Name, dtype, shape, () => System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray()); }
        if (t.Int64Data.Count > 0) { var l = t.Int64Data.ToArray(); return new ConstTensor(t.Name, dtype, shape, () => System.Runtime.InteropServices.MemoryMarshal.AsBytes(l.AsSpan()).ToArray()); }
        return new ConstTensor(t.Name, dtype, shape, () => []);
    }
}
