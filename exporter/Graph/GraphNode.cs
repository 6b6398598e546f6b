namespace VisualGen.Exporter.Graph;

/// <summary>
/// One operation. Op types are ONNX's (default domain, all present since opset 23; written at <see cref="Onnx.OnnxWriter.Opset"/>) so every graph runs on ONNX Runtime CPU;
/// <c>Attention</c> is the one node kind backends map to their own fused kernel.
/// Attribute values are long, float, string, long[], float[] or <see cref="ConstantTensor"/>.
/// </summary>
public sealed class GraphNode(string opType, string name, GraphValue?[] inputs, GraphValue[] outputs,
    IReadOnlyDictionary<string, object> attributes, string domain = "")
{
    public string OpType { get; } = opType;
    public string Name { get; } = name;
    public string Domain { get; } = domain;
    /// <summary>Inputs in ONNX order; null for an omitted optional input.</summary>
    public GraphValue?[] Inputs { get; } = inputs;
    public GraphValue[] Outputs { get; } = outputs;
    public IReadOnlyDictionary<string, object> Attributes { get; } = attributes;
}
