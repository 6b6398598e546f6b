using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

/// <summary>A symbolic tensor: operations on it record ONNX nodes in its <see cref="Tracer"/>.</summary>
public sealed partial class Tensor(Tracer tracer, GraphValue value)
{
    public Tracer Tracer { get; } = tracer;
    public GraphValue Value { get; } = value;
    public TensorDType DType => Value.DType;
    public override string ToString() => Value.ToString();

    Tensor Op(string op, params Tensor?[] inputs) => Tracer.Op(op, inputs);
    Tensor OpA(string op, Dictionary<string, object> attrs, params Tensor?[] inputs) => Tracer.Op(op, inputs, attrs);
    Tensor Scalar(float v) => DType == TensorDType.I64 ? Tracer.Int64((long)v) : Tracer.Scalar(v);

    // elementwise arithmetic (numpy broadcasting)
    public static Tensor operator +(Tensor a, Tensor b) => a.Op("Add", a, b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Op("Sub", a, b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Op("Mul", a, b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Op("Div", a, b);
    public static Tensor operator +(Tensor a, float b) => a.Op("Add", a, a.Scalar(b));
    public static Tensor operator -(Tensor a, float b) => a.Op("Sub", a, a.Scalar(b));
    public static Tensor operator *(Tensor a, float b) => a.Op("Mul", a, a.Scalar(b));
    public static Tensor operator /(Tensor a, float b) => a.Op("Div", a, a.Scalar(b));
    public static Tensor operator +(float a, Tensor b) => b.Op("Add", b.Scalar(a), b);
    public static Tensor operator -(float a, Tensor b) => b.Op("Sub", b.Scalar(a), b);
    public static Tensor operator *(float a, Tensor b) => b.Op("Mul", b.Scalar(a), b);
    public static Tensor operator -(Tensor a) => a.Op("Neg", a);
    public Tensor Div(Tensor b) => Op("Div", this, b);

    public Tensor MatMul(Tensor b) => Op("MatMul", this, b);
    public Tensor Exp() => Op("Exp", this);
    public Tensor Sin() => Op("Sin", this);
    public Tensor Cos() => Op("Cos", this);
    public Tensor Sqrt() => Op("Sqrt", this);
    public Tensor Tanh() => Op("Tanh", this);
    public Tensor Erf() => Op("Erf", this);
    public Tensor Sigmoid() => Op("Sigmoid", this);
    public Tensor Abs() => Op("Abs", this);
    public Tensor Pow(float p) => Op("Pow", this, Scalar(p));
    public Tensor Silu() => this * Sigmoid();
    public Tensor Relu() => Op("Relu", this);
    public Tensor Max(Tensor b) => Op("Max", this, b);
    public Tensor Min(Tensor b) => Op("Min", this, b);
    public Tensor Log() => Op("Log", this);
    public Tensor Reciprocal() => Op("Reciprocal", this);

    /// <summary>GELU; <paramref name="tanhApproximation"/> selects PyTorch's approximate="tanh".</summary>
    public Tensor Gelu(bool tanhApproximation) =>
        OpA("Gelu", new() { ["approximate"] = tanhApproximation ? "tanh" : "none" }, this);

    public Tensor Softmax(long axis = -1) => OpA("Softmax", new() { ["axis"] = axis }, this);

    public Tensor Cast(TensorDType to) => Tracer.Op("Cast", [this], new() { ["to"] = (long)OnnxTypes.ToOnnx(to) }, to);

    public Tensor ReduceMean(long[] axes, bool keepDims = true) =>
        OpA("ReduceMean", new() { ["keepdims"] = keepDims ? 1L : 0L }, this, Tracer.Int64Vector(axes));

    public Tensor ReduceSum(long[] axes, bool keepDims = true) =>
        OpA("ReduceSum", new() { ["keepdims"] = keepDims ? 1L : 0L }, this, Tracer.Int64Vector(axes));

    public Tensor ReduceMax(long[] axes, bool keepDims = true) =>
        OpA("ReduceMax", new() { ["keepdims"] = keepDims ? 1L : 0L }, this, Tracer.Int64Vector(axes));

    /// <summary>LayerNormalization over the last axis; scale/bias may be null (no affine: ones/zeros).</summary>
    public Tensor LayerNorm(Tensor? scale, Tensor? bias, float eps, int dim)
    {
        scale ??= Tracer.Const(Enumerable.Repeat(1f, dim).ToArray(), dim);
        return OpA("LayerNormalization", new() { ["axis"] = -1L, ["epsilon"] = eps }, this, scale, bias);
    }

    /// <summary>RMSNormalization over the last axis (opset 23).</summary>
    public Tensor RmsNorm(Tensor? scale, float eps, int dim)
    {
        scale ??= Tracer.Const(Enumerable.Repeat(1f, dim).ToArray(), dim);
        return OpA("RMSNormalization", new() { ["axis"] = -1L, ["epsilon"] = eps }, this, scale);
    }

    /// <summary>Where(condition, this, otherwise); the result has this tensor's dtype (not the condition's).</summary>
    public Tensor Where(Tensor condition, Tensor otherwise) => Tracer.Op("Where", [condition, this, otherwise], null, DType);
}
