using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

public sealed partial class Tensor
{
    /// <summary>Dim <paramref name="axis"/> of this tensor, computed in the graph.</summary>
    public Dim Size(int axis) =>
        Dim.Of(Tracer.Op("Shape", [this], new() { ["start"] = (long)axis, ["end"] = axis == -1 ? long.MaxValue : (long)axis + 1 }, TensorDType.I64));

    public Tensor Shape() => Tracer.Op("Shape", [this], null, TensorDType.I64);

    public Tensor Reshape(params Dim[] dims) => Op("Reshape", this, Tracer.ShapeOf(dims));

    public Tensor Transpose(params long[] perm) => OpA("Transpose", new() { ["perm"] = perm }, this);

    public Tensor Unsqueeze(params long[] axes) => Op("Unsqueeze", this, Tracer.Int64Vector(axes));

    public Tensor Squeeze(params long[] axes) => Op("Squeeze", this, Tracer.Int64Vector(axes));

    public Tensor Flatten(long axis) => OpA("Flatten", new() { ["axis"] = axis }, this);

    public static Tensor Concat(long axis, params Tensor[] parts) => parts[0].Tracer.Op("Concat", parts, new() { ["axis"] = axis });

    /// <summary>Slices [start, end) along one axis (end may be long.MaxValue).</summary>
    public Tensor Slice(long axis, long start, long end, long step = 1) =>
        Op("Slice", this, Tracer.Int64Vector(start), Tracer.Int64Vector(end), Tracer.Int64Vector(axis), Tracer.Int64Vector(step));

    /// <summary>Slices [start, end) along one axis with graph-computed bounds.</summary>
    public Tensor Slice(long axis, Dim start, Dim end) =>
        Op("Slice", this, start.AsTensor(this), end.AsTensor(this), Tracer.Int64Vector(axis));

    /// <summary>Splits along <paramref name="axis"/> into parts of the given sizes.</summary>
    public Tensor[] Split(long axis, params long[] sizes) =>
        Tracer.Ops("Split", [this, Tracer.Int64Vector(sizes)], sizes.Length, new() { ["axis"] = axis });

    /// <summary>Splits into <paramref name="n"/> equal parts.</summary>
    public Tensor[] Chunk(int n, long axis) =>
        Tracer.Ops("Split", [this], n, new() { ["axis"] = axis, ["num_outputs"] = (long)n });

    public Tensor Gather(Tensor indices, long axis) => OpA("Gather", new() { ["axis"] = axis }, this, indices);

    /// <summary>ONNX GatherND: slices of this tensor at the index tuples in the last axis of <paramref name="indices"/>,
    /// the first <paramref name="batchDims"/> axes shared (x[b, i[b, 0]] for indices [batch, 1] and one batch dim).</summary>
    public Tensor GatherND(Tensor indices, long batchDims = 0) => OpA("GatherND", new() { ["batch_dims"] = batchDims }, this, indices);

    public Tensor Expand(params Dim[] dims) => Op("Expand", this, Tracer.ShapeOf(dims));

    public Tensor ExpandAs(Tensor shape) => Op("Expand", this, shape);

    public Tensor Pad(long[] pads, float value = 0, string mode = "constant") =>
        OpA("Pad", new() { ["mode"] = mode }, this, Tracer.Int64Vector(pads), mode == "constant" ? Tracer.Scalar(value) : null);

    /// <summary>N-d convolution (NC... layout) with optional bias.</summary>
    public Tensor Conv(Tensor weight, Tensor? bias, long[] strides, long[] pads, long[]? dilations = null, long group = 1)
    {
        var attrs = new Dictionary<string, object> { ["strides"] = strides, ["pads"] = pads, ["group"] = group };
        if (dilations is not null) attrs["dilations"] = dilations;
        return OpA("Conv", attrs, this, weight, bias);
    }
}
