using VisualGen.Quantization;

namespace VisualGen.Exporter.Commands;

/// <summary><c>--quant-algo FP8|FP8_BLOCK_SCALES|NVFP4</c> (or fp8, fp8_block, nvfp4) and <c>--quant-ignore P,Q</c>:
/// dynamic quantization of the diffusion transformers' linears when their graphs are built.</summary>
public static class QuantizationFlags
{
    public static readonly string[] Flags = ["quant-algo", "quant-ignore"];

    /// <summary>The config the flags ask for; null without <c>--quant-algo</c>.</summary>
    public static QuantizationConfig? Parse(CommandLine cl) => Parse(cl.String("quant-algo"), cl.String("quant-ignore"));

    /// <summary>The config of a <c>--quant-algo</c> value and a <c>--quant-ignore</c> list (either may be null).</summary>
    public static QuantizationConfig? Parse(string? algo, string? ignore)
    {
        if (algo is null)
            return ignore is null ? null : throw new UsageException("--quant-ignore needs --quant-algo");
        QuantAlgo parsed;
        try { parsed = QuantAlgo.Parse(algo, "--quant-algo"); }
        catch (QuantizationException e) { throw new UsageException(e.Message); }
        var patterns = ignore?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) ?? [];
        return new QuantizationConfig(parsed, patterns);
    }
}
