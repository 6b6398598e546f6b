using VisualGen.Checkpoints;

namespace VisualGen.Exporter.Graph;

/// <summary>
/// Records a graph while model code runs on symbolic <see cref="Tensor"/>s: the C# counterpart of tracing.
/// Node names follow the module path (scopes), so a node can be traced back to the checkpoint key it came from.
/// </summary>
public sealed class Tracer
{
    readonly Stack<string> _scopes = new();
    readonly Dictionary<string, int> _counters = [];
    readonly Dictionary<string, Tensor> _constCache = [];
    int _valueCounter;

    public Graph Graph { get; }

    public Tracer(string graphName) { Graph = new Graph(graphName); }

    /// <summary>Enters a module scope (its checkpoint path), for node names.</summary>
    public IDisposable Scope(string name)
    {
        _scopes.Push(name);
        return new PopScope(_scopes);
    }

    sealed class PopScope(Stack<string> s) : IDisposable { public void Dispose() => s.Pop(); }

    string ScopePath => string.Join(".", _scopes.Reverse().Where(s => s.Length > 0));

    string UniqueName(string stem)
    {
        string baseName = ScopePath.Length > 0 ? $"{ScopePath}/{stem}" : stem;
        int n = _counters.TryGetValue(baseName, out var c) ? c : 0;
        _counters[baseName] = n + 1;
        return n == 0 ? baseName : $"{baseName}_{n}";
    }

    GraphValue NewValue(TensorDType dtype, string? name = null) => new(name ?? $"v{_valueCounter++}", dtype);

    public Tensor Input(string name, TensorDType dtype, params string[] dims)
    {
        var v = new GraphValue(name, dtype);
        Graph.Inputs.Add(new GraphPort(v, dims));
        return new Tensor(this, v);
    }

    /// <summary>Marks <paramref name="t"/> as a graph output named <paramref name="name"/>.</summary>
    public void Output(Tensor t, string name, params string[] dims)
    {
        var v = new GraphValue(name, t.DType);
        Graph.Nodes.Add(new GraphNode("Identity", UniqueName("output_" + name), [t.Value], [v], new Dictionary<string, object>()));
        Graph.Outputs.Add(new GraphPort(v, dims));
    }

    /// <summary>Adds a node with one output; the output dtype is <paramref name="outType"/> or the first input's.</summary>
    public Tensor Op(string opType, Tensor?[] inputs, Dictionary<string, object>? attributes = null, TensorDType? outType = null, string domain = "")
        => Ops(opType, inputs, 1, attributes, outType, domain)[0];

    public Tensor[] Ops(string opType, Tensor?[] inputs, int outputs, Dictionary<string, object>? attributes = null,
        TensorDType? outType = null, string domain = "")
    {
        var dtype = outType ?? inputs.First(i => i is not null)!.DType;
        var outs = Enumerable.Range(0, outputs).Select(_ => NewValue(dtype)).ToArray();
        Graph.Nodes.Add(new GraphNode(opType, UniqueName(opType), inputs.Select(i => i?.Value).ToArray(), outs,
            attributes ?? new Dictionary<string, object>(), domain));
        return outs.Select(o => new Tensor(this, o)).ToArray();
    }

    /// <summary>Registers an initializer and returns it as a tensor.</summary>
    public Tensor Initializer(string name, TensorDType dtype, long[] shape, IInitializerData data)
    {
        var v = new GraphValue(name, dtype);
        Graph.Initializers.Add(new Initializer(v, shape, data));
        return new Tensor(this, v);
    }

    public Tensor Const(float[] values, params long[] shape)
    {
        string key = "f:" + string.Join(",", shape) + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan())));
        if (_constCache.TryGetValue(key, out var t)) return t;
        t = Initializer($"const_{Graph.Initializers.Count}", TensorDType.F32, shape, InlineData.Of(values));
        _constCache[key] = t;
        return t;
    }

    public Tensor Scalar(float v) => Const([v]);

    public Tensor Int64Const(long[] values, params long[] shape)
    {
        string key = "i:" + string.Join(",", shape) + ":" + string.Join(",", values);
        if (_constCache.TryGetValue(key, out var t)) return t;
        t = Initializer($"const_{Graph.Initializers.Count}", TensorDType.I64, shape, InlineData.Of(values));
        _constCache[key] = t;
        return t;
    }

    /// <summary>A 1-D int64 tensor (shapes, axes, slice bounds).</summary>
    public Tensor Int64Vector(params long[] values) => Int64Const(values, values.Length);

    /// <summary>A 0-D int64 scalar.</summary>
    public Tensor Int64(long value) => Int64Const([value]);

    /// <summary>Builds a 1-D int64 shape tensor from dims (constants folded together where possible).</summary>
    public Tensor ShapeOf(params Dim[] dims)
    {
        if (dims.All(d => d.Value.HasValue)) return Int64Vector(dims.Select(d => d.Value!.Value).ToArray());
        var parts = dims.Select(d => d.Symbol ?? Int64Vector(d.Value!.Value)).ToArray();
        return Op("Concat", parts, new() { ["axis"] = 0L });
    }
}
