using VisualGen.Checkpoints;

namespace VisualGen.Tensors;

/// <summary>A dense row-major tensor in host memory: float32 or int64 (what graph inputs and outputs use).</summary>
public sealed class HostTensor
{
    public long[] Shape { get; }
    public TensorDType DType { get; }
    readonly float[]? _f;
    readonly long[]? _i;

    HostTensor(long[] shape, TensorDType dtype, float[]? f, long[]? i)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (f is null && i is null) throw new ArgumentNullException("data");
        if (shape.Any(d => d < 0)) throw new ArgumentException($"shape [{string.Join(", ", shape)}] has a negative size", nameof(shape));
        long n = shape.Aggregate(1L, (a, b) => a * b);
        long len = f?.LongLength ?? i!.LongLength;
        if (n != len) throw new ArgumentException($"shape [{string.Join(", ", shape)}] holds {n} elements, data has {len}", "data");
        Shape = shape; DType = dtype; _f = f; _i = i;
    }

    public static HostTensor Float32(float[] data, params long[] shape) => new(shape, TensorDType.F32, data, null);
    public static HostTensor Int64(long[] data, params long[] shape) => new(shape, TensorDType.I64, null, data);
    public static HostTensor Zeros(params long[] shape) => Float32(new float[shape.Aggregate(1L, (a, b) => a * b)], shape);

    public float[] Floats => _f ?? throw new InvalidOperationException($"tensor is {DType}, not F32");
    public long[] Longs => _i ?? throw new InvalidOperationException($"tensor is {DType}, not I64");
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public int Rank => Shape.Length;
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    public HostTensor Reshape(params long[] shape) => _f is not null ? Float32(_f, shape) : Int64(_i!, shape);

    public TensorData ToTensorData(string name) =>
        _f is not null ? TensorData.Float32(name, Shape, _f) : TensorData.Int64(name, Shape, _i!);

    public static HostTensor FromSource(ITensorSource source, string name)
    {
        var info = source.Info(name);
        if (info.DType is TensorDType.I64 or TensorDType.I32)
            return Int64(ElementConvert.ToInt64(source.GetBytes(name), info.DType, info.ElementCount, name, name), info.Shape);
        return Float32(source.ReadFloat32(name), info.Shape);
    }
}
