namespace VisualGen.Quantization;

/// <summary>A quantization the user asked for that the checkpoint refuses (dynamic quantization, or the quantize command,
/// of a component that is already quantized): a request the model refuses, so the CLI exits 2 for it as for any usage
/// error, where the other <see cref="QuantizationException"/>s are about a checkpoint or a tensor (exit 1).</summary>
public sealed class QuantizationRequestException(string message) : QuantizationException(message);
