namespace VisualGen.Quantization;

/// <summary>A tensor that a quantization scheme cannot take (its dtype, rank, shape or values). The message names
/// the tensor, the scheme and what it needs. (<see cref="UnmatchedIgnorePatternsException"/>: the user's ignore patterns,
/// not the checkpoint.)</summary>
public class QuantizationException(string message) : Exception(message);
