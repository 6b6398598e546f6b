namespace VisualGen.Demo;

/// <summary>How a demo parameter is drawn, scaled like PyTorch's default initialization so activations stay in range.</summary>
internal enum ParameterInit
{
    /// <summary>Linear/convolution weight: uniform ±1/√fan_in (PyTorch's kaiming_uniform with a = √5).</summary>
    FanIn,
    /// <summary>Bias: nearly zero, uniform ±0.01.</summary>
    Bias,
    /// <summary>Norm scale: ones, perturbed by uniform ±0.05.</summary>
    NearOne,
    /// <summary>Modulation table (diffusers: randn / √dim): uniform ±1/√fan_in with fan_in = dim.</summary>
    Table,
    /// <summary>Token embedding: uniform ±1 (the RMS norm that follows rescales it).</summary>
    Embedding,
    /// <summary>T5 relative position bias: uniform ±0.1.</summary>
    RelativeBias,
}

/// <summary>One parameter of a demo component: its checkpoint key, shape and how it is drawn.</summary>
internal sealed record ParameterSpec(string Name, long[] Shape, ParameterInit Init, long FanIn = 1)
{
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The values, drawn from the stream named by <see cref="Name"/> of <paramref name="seed"/>.</summary>
    public float[] Draw(ulong seed, string component)
    {
        var random = DemoRandom.ForStream(seed, component + "/" + Name);
        (double center, double halfWidth) = Init switch
        {
            ParameterInit.FanIn or ParameterInit.Table => (0.0, 1.0 / Math.Sqrt(FanIn)),
            ParameterInit.Bias => (0.0, 0.01),
            ParameterInit.NearOne => (1.0, 0.05),
            ParameterInit.Embedding => (0.0, 1.0),
            ParameterInit.RelativeBias => (0.0, 0.1),
            _ => throw new ArgumentOutOfRangeException(nameof(Init), Init, "unknown parameter init"),
        };
        var values = new float[Count];
        for (int i = 0; i < values.Length; i++) values[i] = (float)random.NextUniform(center, halfWidth);
        return values;
    }
}

/// <summary>Collects the parameters of a module tree under dotted prefixes, as PyTorch's state_dict names them.</summary>
internal sealed class ParameterList
{
    readonly List<ParameterSpec> _specs = [];
    readonly HashSet<string> _names = new(StringComparer.Ordinal);

    public IReadOnlyList<ParameterSpec> Specs => _specs;

    public void Add(string name, long[] shape, ParameterInit init, long fanIn = 1)
    {
        if (!_names.Add(name)) throw new InvalidOperationException($"demo parameter '{name}' is defined twice");
        _specs.Add(new ParameterSpec(name, shape, init, fanIn));
    }

    /// <summary>nn.Linear(in, out): weight [out, in], bias [out].</summary>
    public void Linear(string prefix, long inFeatures, long outFeatures, bool bias = true)
    {
        Add(prefix + ".weight", [outFeatures, inFeatures], ParameterInit.FanIn, inFeatures);
        if (bias) Add(prefix + ".bias", [outFeatures], ParameterInit.Bias);
    }

    /// <summary>nn.Conv{2,3}d(in, out, kernel): weight [out, in, *kernel], bias [out].</summary>
    public void Conv(string prefix, long inChannels, long outChannels, params long[] kernel)
    {
        long fanIn = inChannels * kernel.Aggregate(1L, (a, b) => a * b);
        Add(prefix + ".weight", [outChannels, inChannels, .. kernel], ParameterInit.FanIn, fanIn);
        Add(prefix + ".bias", [outChannels], ParameterInit.Bias);
    }

    /// <summary>A norm's scale (weight or gamma) of the given shape.</summary>
    public void Scale(string name, params long[] shape) => Add(name, shape, ParameterInit.NearOne);
}
