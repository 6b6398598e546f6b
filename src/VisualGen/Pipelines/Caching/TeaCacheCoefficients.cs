namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Shipped TeaCache rescaling polynomials (highest power first), the "standard" (not use_ret_steps) tables of
/// TensorRT-LLM's VisualGen pipelines, which take them from the TeaCache authors' calibration
/// (github.com/ali-vilab/TeaCache): Wan from tensorrt_llm/_torch/visual_gen/models/wan/pipeline_wan.py
/// (WAN_TEACACHE_COEFFICIENTS; its I2V pipeline reuses the same table).
/// </summary>
public static class TeaCacheCoefficients
{
    /// <summary>Wan 2.1 1.3B (width 1536), compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> Wan1_3B = [2.39676752e03, -1.31110545e03, 2.01331979e02, -8.29855975e00, 1.37887774e-01];

    /// <summary>Wan 2.1 14B (width 5120), compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> Wan14B = [-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404];

    /// <summary>The Wan table for a transformer of width <paramref name="innerDim"/>: the 1.3B table up to its width
    /// of 1536, the 14B table above (TensorRT-LLM picks by the checkpoint's name; we pick by size).</summary>
    public static IReadOnlyList<double> Wan(int innerDim) => innerDim <= 1536 ? Wan1_3B : Wan14B;
}
