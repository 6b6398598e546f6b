using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

/// <summary>A value (edge) of the graph: a graph input, an initializer, or a node output.</summary>
public sealed class GraphValue(string name, TensorDType dtype)
{
    public string Name { get; } = name;
    public TensorDType DType { get; } = dtype;
    public override string ToString() => $"{Name}:{DType}";
}

/// <summary>A graph input or output with its dims: numbers, or names for dynamic axes ("batch", "frames").</summary>
public sealed record GraphPort(GraphValue Value, string[] Dims);
