namespace VisualGen.Quantization;

/// <summary>Ignore patterns the user gave for dynamic quantization (the CLI's --quant-ignore or a config file's ignore
/// list, the server's --quant-ignore, the API's options) that match no module of the components being quantized: a typo
/// that would ignore nothing, so every linear is quantized. A bad value of the user's, where the other
/// <see cref="QuantizationException"/>s are about a checkpoint or a tensor; the CLI exits 2 for it, as for any usage
/// error. The message names each pattern.</summary>
public sealed class UnmatchedIgnorePatternsException(IReadOnlyList<string> patterns, string message) : QuantizationException(message)
{
    /// <summary>The patterns that match no module, as given.</summary>
    public IReadOnlyList<string> Patterns { get; } = patterns;
}
