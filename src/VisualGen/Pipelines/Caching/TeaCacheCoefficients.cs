namespace VisualGen.Pipelines.Caching;

/// <summary>
/// Shipped TeaCache rescaling polynomials (highest power first), the "standard" (not use_ret_steps) tables of
/// TensorRT-LLM's VisualGen pipelines, which take them from the TeaCache authors' calibration
/// (github.com/ali-vilab/TeaCache): Wan from tensorrt_llm/_torch/visual_gen/models/wan/pipeline_wan.py
/// (WAN_TEACACHE_COEFFICIENTS) and pipeline_wan_i2v.py (WAN_I2V_TEACACHE_COEFFICIENTS, Wan 2.1 I2V 14B at 480P and
/// 720P; earlier TensorRT-LLM releases reused the text-to-video table there).
/// </summary>
public static class TeaCacheCoefficients
{
    /// <summary>Wan 2.1 1.3B (width 1536), compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> Wan1_3B = [2.39676752e03, -1.31110545e03, 2.01331979e02, -8.29855975e00, 1.37887774e-01];

    /// <summary>Wan 2.1 14B (width 5120), compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> Wan14B = [-5784.54975374, 5449.50911966, -1811.16591783, 256.27178429, -13.02252404];

    /// <summary>FLUX.1-dev (guidance embedding), compared tensor: timestep + guidance embedding. TensorRT-LLM's
    /// FLUX_TEACACHE_COEFFICIENTS["dev"] (tensorrt_llm/_torch/visual_gen/models/flux/pipeline_flux.py).</summary>
    public static readonly IReadOnlyList<double> FluxDev = [2.57151496e05, -3.54229917e04, 1.40286849e03, -1.35890334e01, 1.32517977e-01];

    /// <summary>FLUX.1-schnell (no guidance embedding): TensorRT-LLM's FLUX_TEACACHE_COEFFICIENTS["schnell"], the
    /// identity (rel itself is accumulated).</summary>
    public static readonly IReadOnlyList<double> FluxSchnell = [1.0, 0.0];

    /// <summary>Qwen-Image, compared tensor: temb. TensorRT-LLM ships no Qwen-Image table; this is the one ComfyUI-TeaCache
    /// and vLLM-Omni ship for Qwen-Image (TeaCache4FLUX's calibration).</summary>
    public static readonly IReadOnlyList<double> QwenImage = [4.98651651e02, -2.83781631e02, 5.58554382e01, -3.82021401e00, 2.64230861e-01];

    /// <summary>Wan 2.1 I2V 14B 480P, compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> WanI2V480P = [-3.02331670e02, 2.23948934e02, -5.25463970e01, 5.87348440e00, -2.01973289e-01];

    /// <summary>Wan 2.1 I2V 14B 720P, compared tensor: temb.</summary>
    public static readonly IReadOnlyList<double> WanI2V720P = [-114.36346466, 65.26524496, -18.82220707, 4.91518089, -0.23412683];

    /// <summary>The Wan table for a checkpoint, or null where TensorRT-LLM ships none (Wan 2.2: A14B's two experts,
    /// TI2V-5B): text-to-video by the transformer's width (the 1.3B table up to its 1536, the 14B table above; TensorRT-LLM
    /// picks by the checkpoint's name, we by size); Wan 2.1 image-to-video (a CLIP image encoder) by the checkpoint's folder
    /// name where it says 480P or 720P, as TensorRT-LLM picks, else by the request's size (720P from 720 × 1280 pixels).</summary>
    public static IReadOnlyList<double>? Wan(Wan.WanModelConfig c, string checkpointName, int height, int width)
    {
        if (c.HasTransformer2 || c.BoundaryRatio is not null || c.ExpandTimesteps) return null;
        if (!c.ImageToVideo) return c.InnerDim <= 1536 ? Wan1_3B : Wan14B;
        if (!c.HasImageEncoder) return null;
        if (checkpointName.Contains("720P", StringComparison.OrdinalIgnoreCase)) return WanI2V720P;
        if (checkpointName.Contains("480P", StringComparison.OrdinalIgnoreCase)) return WanI2V480P;
        return (long)height * width >= 720L * 1280 ? WanI2V720P : WanI2V480P;
    }
}
