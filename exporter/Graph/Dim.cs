namespace VisualGen.Exporter.Graph;

/// <summary>A dimension used to build shapes: a known number, or a 1-element int64 tensor computed in the graph.</summary>
public readonly struct Dim
{
    public long? Value { get; }
    public Tensor? Symbol { get; }

    Dim(long? value, Tensor? symbol) { Value = value; Symbol = symbol; }

    public static implicit operator Dim(long v) => new(v, null);
    public static implicit operator Dim(int v) => new(v, null);
    public static Dim Of(Tensor oneElementInt64) => new(null, oneElementInt64);

    public static Dim operator *(Dim a, Dim b) =>
        a.Value is long x && b.Value is long y ? x * y : Of(a.AsTensor(a.Symbol ?? b.Symbol!) * b.AsTensor(a.Symbol ?? b.Symbol!));

    public static Dim operator /(Dim a, long b) =>
        a.Value is long x ? x / b : Of(a.Symbol!.Div(a.Symbol!.Tracer.Int64(b)));

    /// <summary>This dim as a 1-element int64 tensor of the given graph.</summary>
    public Tensor AsTensor(Tensor anyOfGraph) => Symbol ?? anyOfGraph.Tracer.Int64Vector(Value!.Value);
}
