using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Quantization;

namespace VisualGen.Exporter.Modules;

/// <summary>
/// Checkpoint weights by module path (candle's VarBuilder): module paths equal checkpoint keys, so loading is a
/// lookup. A missing key is an error that names it; <see cref="CheckAllUsed"/> reports keys the model never read.
/// </summary>
public sealed class Weights
{
    readonly ITensorSource _source;
    readonly string _prefix;
    readonly HashSet<string> _used;
    readonly string _origin;

    public Tracer Tracer { get; }

    /// <summary>How this component's linears are quantized (null: not at all); every <see cref="Sub"/> shares it.</summary>
    public QuantizedLinears? Quantization { get; }

    public Weights(Tracer tracer, ITensorSource source, string origin, QuantizedLinears? quantization = null)
        : this(tracer, source, "", [], origin, quantization) { }

    Weights(Tracer tracer, ITensorSource source, string prefix, HashSet<string> used, string origin, QuantizedLinears? quantization)
    {
        Tracer = tracer; _source = source; _prefix = prefix; _used = used; _origin = origin; Quantization = quantization;
    }

    /// <summary>The weights under <paramref name="name"/> ("blocks.0", "attn1").</summary>
    public Weights Sub(string name) => new(Tracer, _source, _prefix + name + ".", _used, _origin, Quantization);

    /// <summary>This module's own path ("blocks.0.attn1.to_q"), the prefix without its trailing dot.</summary>
    public string ModulePath => _prefix.TrimEnd('.');

    /// <summary>The file or folder the weights come from, for errors.</summary>
    public string Origin => _origin;

    /// <summary>The tensor source (quantization reads a weight's values to quantize it at build time).</summary>
    public ITensorSource Source => _source;

    /// <summary>A weight as it is stored (e4m3 codes, packed nibbles), checked for dtype and shape, not converted.</summary>
    public Tensor Stored(string key, TensorDType dtype, long[] shape)
    {
        string full = _prefix + key;
        var info = Info(key);
        if (info.DType != dtype || !info.Shape.SequenceEqual(shape))
            throw new CheckpointException(_origin, $"weight '{full}' is {info.DType.SafeTensorsName()} {info.ShapeText}; the quantization config implies {dtype.SafeTensorsName()} [{string.Join(", ", shape)}]");
        _used.Add(full);
        return Tracer.Initializer(full, dtype, shape, new CheckpointRawData(_source, full, false));
    }

    /// <summary>Marks a weight as used when the graph takes it in another form (quantized when the graph is written).</summary>
    public void Use(string key) => Skip(key);

    /// <summary>Marks a weight as read without putting it in the graph (a scale the CPU path does not apply).</summary>
    public void Skip(string key)
    {
        Info(key);
        _used.Add(_prefix + key);
    }

    public string Path(string key) => _prefix + key;

    public bool Has(string key) => _source.Contains(_prefix + key);

    public TensorInfo Info(string key) => _source.Contains(_prefix + key)
        ? _source.Info(_prefix + key)
        : throw new CheckpointException(_origin, $"missing weight '{_prefix + key}'");

    /// <summary>A weight as a float32 tensor, checked against <paramref name="shape"/> when given.
    /// <paramref name="transpose"/> stores a 2-D [out, in] matrix as [in, out], ready for MatMul. A bf16/fp16 checkpoint
    /// tensor stays in its dtype in the graph, followed by a Cast to float32 (the checkpoint's values exactly, half the
    /// bytes of a float32 export; backends fold or fuse the cast: ONNX Runtime folds it at load, the native engine packs
    /// from the 16-bit values).</summary>
    public Tensor Get(string key, long[]? shape = null, bool transpose = false)
    {
        string full = _prefix + key;
        var info = Info(key);
        if (shape is not null && !info.Shape.SequenceEqual(shape))
            throw new CheckpointException(_origin, $"weight '{full}' has shape {info.ShapeText}, the config implies [{string.Join(", ", shape)}]");
        if (transpose && info.Shape.Length != 2)
            throw new CheckpointException(_origin, $"weight '{full}' has shape {info.ShapeText}; a 2-D matrix was expected");
        _used.Add(full);
        long[] outShape = transpose ? [info.Shape[1], info.Shape[0]] : info.Shape;
        if (info.DType is TensorDType.BF16 or TensorDType.F16)
            return Tracer.Initializer(full + (transpose ? ".T" : ""), info.DType, outShape, new CheckpointRawData(_source, full, transpose)).Cast(TensorDType.F32);
        return Tracer.Initializer(full + (transpose ? ".T" : ""), TensorDType.F32, outShape, new CheckpointData(_source, full, transpose));
    }

    /// <summary>Reads a small weight's values now (for tables the exporter folds into constants).</summary>
    public float[] Read(string key)
    {
        Info(key);
        _used.Add(_prefix + key);
        return _source.ReadFloat32(_prefix + key);
    }

    /// <summary>Throws when the checkpoint holds keys the model did not read (a config/checkpoint mismatch),
    /// except those matching <paramref name="ignoredPrefixes"/> (diffusers' _keys_to_ignore_on_load_unexpected).</summary>
    public void CheckAllUsed(params string[] ignoredPrefixes)
    {
        var unused = _source.Names.Where(n => !_used.Contains(n) && !ignoredPrefixes.Any(p => n.Contains(p, StringComparison.Ordinal)))
            .OrderBy(n => n, StringComparer.Ordinal).ToList();
        if (unused.Count > 0)
            throw new CheckpointException(_origin,
                $"{unused.Count} checkpoint weight(s) not used by the model definition (config mismatch?): {string.Join(", ", unused.Take(10))}{(unused.Count > 10 ? ", ..." : "")}");
    }
}
