namespace VisualGen.Quantization;

/// <summary>One way to quantize a tensor, named as the CLI and the conformance fixtures name it ("fp8", "nvfp4", …).
/// Implementations are exact: the same input gives the same bytes on every machine.</summary>
public interface IQuantizationScheme
{
    /// <summary>The scheme's name: the <c>--scheme</c> value and the middle of every output name.</summary>
    string Name { get; }

    /// <summary>One line for usage text: what it stores and which parts it writes.</summary>
    string Summary { get; }

    /// <summary>Quantizes one tensor; throws <see cref="QuantizationException"/> naming it when the scheme cannot take it.</summary>
    QuantizedTensor Quantize(SourceTensor tensor);
}
