namespace VisualGen.Engines.Cuda.Planning;

/// <summary>The <c>scheme</c> attribute of a <c>VgQuantLinear</c>: ModelOpt's <c>quant_algo</c> names.</summary>
public static class QuantScheme
{
    public const string Fp8 = "FP8";
    public const string Fp8Block = "FP8_BLOCK_SCALES";
    public const string Nvfp4 = "NVFP4";
}
