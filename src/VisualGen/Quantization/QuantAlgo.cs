namespace VisualGen.Quantization;

/// <summary>
/// ModelOpt's <c>quant_algo</c> values VisualGen reads and writes, each with the scheme that makes its weights and what
/// a weight's shape must allow: <c>FP8</c> (one e4m3 scale per tensor, any shape), <c>FP8_BLOCK_SCALES</c> (one scale
/// per 128×128 block: out and in multiples of 128), <c>NVFP4</c> (an e4m3 scale per 16 inputs: in a multiple of 16).
/// </summary>
public sealed record QuantAlgo(string Name, string Scheme, int OutMultiple, int InMultiple)
{
    public static readonly QuantAlgo Fp8 = new("FP8", "fp8", 1, 1);
    public static readonly QuantAlgo Fp8Block = new("FP8_BLOCK_SCALES", "fp8_block", Fp8BlockScheme.BlockSize, Fp8BlockScheme.BlockSize);
    public static readonly QuantAlgo Nvfp4 = new("NVFP4", "nvfp4", 1, Nvfp4Scheme.BlockSize);

    public static readonly IReadOnlyList<QuantAlgo> All = [Fp8, Fp8Block, Nvfp4];

    /// <summary>By ModelOpt name ("FP8") or scheme name ("fp8"); throws naming the known ones.</summary>
    public static QuantAlgo Parse(string name, string source) =>
        All.FirstOrDefault(a => a.Name == name || a.Scheme == name)
        ?? throw new QuantizationException($"{source}: unknown quant_algo '{name}' (known: {string.Join(", ", All.Select(a => a.Name))})");

    /// <summary>Why a weight of [out, in] cannot take this algorithm, or null when it can.</summary>
    public string? ShapeProblem(long outFeatures, long inFeatures)
    {
        if (outFeatures % OutMultiple != 0 || inFeatures % InMultiple != 0)
            return OutMultiple == InMultiple
                ? $"shape [{outFeatures}, {inFeatures}] is not a multiple of {Name}'s {OutMultiple}x{InMultiple} blocks"
                : $"{inFeatures} input features are not a multiple of {Name}'s block of {InMultiple}";
        return null;
    }
}
