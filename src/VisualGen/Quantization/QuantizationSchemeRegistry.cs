namespace VisualGen.Quantization;

/// <summary>Quantization schemes by name. <see cref="CreateDefault"/> holds the four the project implements.</summary>
public sealed class QuantizationSchemeRegistry
{
    readonly List<IQuantizationScheme> _schemes = [];

    public static QuantizationSchemeRegistry CreateDefault() => new QuantizationSchemeRegistry()
        .Register(new Fp8PerTensorScheme())
        .Register(new Fp8BlockScheme())
        .Register(new Nvfp4Scheme())
        .Register(new Fp8ActivationGroupScheme());

    public IReadOnlyList<IQuantizationScheme> Schemes => _schemes;

    public IEnumerable<string> Names => _schemes.Select(s => s.Name);

    public QuantizationSchemeRegistry Register(IQuantizationScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);
        if (_schemes.Any(s => s.Name == scheme.Name))
            throw new ArgumentException($"quantization scheme '{scheme.Name}' is already registered", nameof(scheme));
        _schemes.Add(scheme);
        return this;
    }

    public bool TryGet(string name, out IQuantizationScheme scheme)
    {
        scheme = _schemes.FirstOrDefault(s => s.Name == name)!;
        return scheme is not null;
    }
}
