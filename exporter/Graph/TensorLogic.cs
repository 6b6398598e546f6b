using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

public sealed partial class Tensor
{
    // comparisons (numpy broadcasting), bool results
    public Tensor Equal(Tensor b) => Tracer.Op("Equal", [this, b], null, TensorDType.Bool);
    public Tensor Greater(Tensor b) => Tracer.Op("Greater", [this, b], null, TensorDType.Bool);

    /// <summary>Index of the first maximum along <paramref name="axis"/> (as torch.argmax), int64.</summary>
    public Tensor ArgMax(long axis, bool keepDims = false) =>
        Tracer.Op("ArgMax", [this], new() { ["axis"] = axis, ["keepdims"] = keepDims ? 1L : 0L, ["select_last_index"] = 0L }, TensorDType.I64);

    /// <summary>Inclusive cumulative sum along <paramref name="axis"/>.</summary>
    public Tensor CumSum(long axis) => Op("CumSum", this, Tracer.Int64(axis));

    /// <summary>[0, 1, ..., n-1] as int64, n taken from a dim (computed in the graph when dynamic).</summary>
    public static Tensor Arange(Tracer t, Dim n)
    {
        var limit = n.Value is long v ? t.Int64(v) : n.Symbol!.Squeeze(0);
        return t.Op("Range", [t.Int64(0), limit, t.Int64(1)]);
    }
}
