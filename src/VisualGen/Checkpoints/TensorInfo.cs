namespace VisualGen.Checkpoints;

/// <summary>One tensor of a safetensors file: name, element type, shape and byte range inside the data section.</summary>
public sealed record TensorInfo(string Name, TensorDType DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public long ByteLength => End - Begin;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}
