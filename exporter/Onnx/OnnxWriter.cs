using VisualGen.Checkpoints;
using Google.Protobuf;
using VisualGen.Engines;
using VisualGen.Exporter.Graph;
using VisualGen.Onnx.Proto;

namespace VisualGen.Exporter.Onnx;

/// <summary>
/// Writes a traced <see cref="Graph.Graph"/> as a standard ONNX model (IR 13, opset 26: the newest opset ONNX Runtime
/// 1.31 officially runs; the ops used exist since opset 23). Initializers larger than
/// <see cref="InlineLimit"/> go to one external-data file beside the model when the total would risk the 2 GB
/// protobuf limit, streamed straight from the checkpoint.
/// </summary>
public sealed class OnnxWriter
{
    public const int Opset = 26;
    public const long IrVersion = 13;

    /// <summary>Total initializer bytes above which weights are written as external data.</summary>
    public long ExternalDataThreshold { get; init; } = 1L << 30;

    /// <summary>Initializers at or under this size stay inside the model even with external data.</summary>
    public long InlineLimit { get; init; } = 1024;

    /// <summary>Write no bytes of initializers that are a checkpoint tensor's stored bytes (<see cref="ICheckpointStoredData"/>
    /// with a file location): their external data points into the checkpoint's safetensors file (location relative to the
    /// model's folder, offset, length); an initializer that is the [in, out] transpose of a stored [out, in] weight becomes
    /// the stored tensor (<c>name</c> + <see cref="StoredSuffix"/>) and a <c>Transpose</c> node with the initializer's
    /// name, ahead of the graph's nodes. The model means the same, but its external data lies outside its folder, which
    /// ONNX Runtime refuses: for backends that read it themselves (<c>IEngineBackend.ReadsCheckpointReferences</c>).</summary>
    public bool ReferenceCheckpoint { get; init; }

    /// <summary>Name suffix of the stored tensor behind a transposed initializer in <see cref="ReferenceCheckpoint"/> mode.</summary>
    public const string StoredSuffix = "#stored";

    /// <summary>Writes <paramref name="graph"/> to <paramref name="modelPath"/>; returns the files written (model first).</summary>
    public IReadOnlyList<string> Write(Graph.Graph graph, string modelPath, IProgress<double>? progress = null)
    {
        bool external = graph.InitializerBytes > ExternalDataThreshold;
        string dataName = Path.GetFileName(modelPath) + ".data";
        string dataPath = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(modelPath))!, dataName);
        var files = new List<string> { modelPath };

        var g = new GraphProto { Name = graph.Name };
        foreach (var p in graph.Inputs) g.Input.Add(ValueInfo(p));
        foreach (var p in graph.Outputs) g.Output.Add(ValueInfo(p));
        var transposes = new List<NodeProto>();

        long total = Math.Max(1, graph.InitializerBytes), done = 0;
        var checkpointMap = new CheckpointTensorMap([], new Dictionary<string, long[]>(StringComparer.Ordinal));
        FileStream? data = external ? new FileStream(dataPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20) : null;
        try
        {
            foreach (var init in graph.Initializers)
            {
                var t = new TensorProto { Name = init.Value.Name, DataType = OnnxTypes.ToOnnx(init.Value.DType) };
                t.Dims.AddRange(init.Shape);
                if (ReferenceCheckpoint && init.Data is ICheckpointStoredData refd && refd.TryLocate(out var at) && at.Length == init.ByteLength
                    && (!refd.Transposed || init.Shape.Length == 2))
                {
                    if (refd.Transposed)
                    {
                        // the stored [out, in] tensor, transposed by a node into the initializer's [in, out] value
                        string storedName = init.Value.Name + StoredSuffix;
                        t.Name = storedName;
                        t.Dims.Clear();
                        t.Dims.AddRange([init.Shape[1], init.Shape[0]]);
                        var tr = new NodeProto { OpType = "Transpose", Name = init.Value.Name + "#transpose" };
                        tr.Input.Add(storedName);
                        tr.Output.Add(init.Value.Name);
                        tr.Attribute.Add(Attribute("perm", new long[] { 1, 0 }));
                        transposes.Add(tr);
                    }
                    t.DataLocation = TensorProto.Types.DataLocation.External;
                    t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = Path.GetRelativePath(Path.GetDirectoryName(dataPath)!, at.Path) });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = at.Offset.ToString() });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = at.Length.ToString() });
                    g.Initializer.Add(t);
                    int f = checkpointMap.Files.IndexOf(at.Path);
                    if (f < 0) { f = checkpointMap.Files.Count; checkpointMap.Files.Add(at.Path); }
                    checkpointMap.Tensors[t.Name] = [f, at.Offset, at.Length, 0];
                    done += init.ByteLength;
                    progress?.Report((double)done / total);
                    continue;
                }
                if (data is not null && init.ByteLength > InlineLimit)
                {
                    long offset = data.Position;
                    init.Data.WriteTo(data);
                    long written = data.Position - offset;
                    if (written != init.ByteLength)
                        throw new InvalidOperationException($"initializer '{init.Value.Name}' wrote {written} bytes, expected {init.ByteLength}");
                    t.DataLocation = TensorProto.Types.DataLocation.External;
                    t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString() });
                    t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = written.ToString() });
                    // keep offsets 64-byte aligned so backends can map weights directly
                    long pad = (64 - data.Position % 64) % 64;
                    for (int i = 0; i < pad; i++) data.WriteByte(0);
                }
                else
                {
                    using var ms = new MemoryStream((int)init.ByteLength);
                    init.Data.WriteTo(ms);
                    if (ms.Length != init.ByteLength)
                        throw new InvalidOperationException($"initializer '{init.Value.Name}' has {ms.Length} bytes, expected {init.ByteLength}");
                    t.RawData = ByteString.CopyFrom(ms.GetBuffer(), 0, (int)ms.Length);
                }
                g.Initializer.Add(t);
                if (init.Data is ICheckpointStoredData stored && stored.TryLocate(out var loc) && loc.Length == init.ByteLength)
                {
                    int file = checkpointMap.Files.IndexOf(loc.Path);
                    if (file < 0) { file = checkpointMap.Files.Count; checkpointMap.Files.Add(loc.Path); }
                    checkpointMap.Tensors[init.Value.Name] = [file, loc.Offset, loc.Length, stored.Transposed ? 1 : 0];
                }
                done += init.ByteLength;
                progress?.Report((double)done / total);
            }
        }
        finally { data?.Dispose(); }
        if (external) files.Add(dataPath);
        g.Node.AddRange(transposes);
        foreach (var n in graph.Nodes) g.Node.Add(NodeProtoOf(n));

        var model = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "VisualGen",
            ProducerVersion = ExporterInfo.Version,
            Graph = g,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in graph.Metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        if (checkpointMap.Tensors.Count > 0)
            model.MetadataProps.Add(new StringStringEntryProto { Key = GraphMetadata.CheckpointTensors, Value = checkpointMap.ToJson() });
        using (var fs = new FileStream(modelPath, FileMode.Create, FileAccess.Write))
            model.WriteTo(fs);
        return files;
    }

    static ValueInfoProto ValueInfo(GraphPort p)
    {
        var shape = new TensorShapeProto();
        foreach (var d in p.Dims)
            shape.Dim.Add(long.TryParse(d, out long v) ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = d });
        return new ValueInfoProto
        {
            Name = p.Value.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = OnnxTypes.ToOnnx(p.Value.DType), Shape = shape } },
        };
    }

    static NodeProto NodeProtoOf(GraphNode n)
    {
        var node = new NodeProto { OpType = n.OpType, Name = n.Name, Domain = n.Domain };
        node.Input.AddRange(n.Inputs.Select(i => i?.Name ?? ""));
        node.Output.AddRange(n.Outputs.Select(o => o.Name));
        foreach (var (k, v) in n.Attributes.OrderBy(a => a.Key, StringComparer.Ordinal)) node.Attribute.Add(Attribute(k, v));
        return node;
    }

    static AttributeProto Attribute(string name, object v)
    {
        var a = new AttributeProto { Name = name };
        switch (v)
        {
            case long i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            default: throw new NotSupportedException($"attribute '{name}' of type {v.GetType().Name}");
        }
        return a;
    }
}
