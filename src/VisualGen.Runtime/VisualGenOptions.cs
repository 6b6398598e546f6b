using VisualGen.Engines.Cuda.Runtime;

namespace VisualGen;

/// <summary>
/// How <see cref="VisualGenPipeline.Load"/> runs a model: what the command line's --engine, --engine-cache,
/// --attention, --vae-dtype, --vae-tiling and --gpu-memory flags and a configuration's cache_config say, and where
/// export/build lines go.
/// </summary>
public sealed record VisualGenOptions
{
    /// <summary>ONNX Runtime on the CPU (the default; runs everywhere).</summary>
    public const string OrtCpu = "ort-cpu";
    /// <summary>ONNX Runtime's CUDA execution provider (where its native libraries are installed).</summary>
    public const string OrtCuda = "ort-cuda";
    /// <summary>The native CUDA engine for the classes it runs, ONNX Runtime CPU for the rest.</summary>
    public const string NativeCuda = "native-cuda";

    /// <summary>"ort-cpu" (default), "ort-cuda" or "native-cuda".</summary>
    public string Engine { get; init; } = OrtCpu;

    /// <summary>The engine cache folder; null: $VISUALGEN_CACHE, else ~/.cache/visualgen/engines.</summary>
    public string? EngineCacheDirectory { get; init; }

    /// <summary>Self-attention precision; <see cref="AttentionPrecision.Fp8"/> and <see cref="AttentionPrecision.Sage"/> need
    /// the "native-cuda" engine.</summary>
    public AttentionPrecision Attention { get; init; } = AttentionPrecision.Bf16;

    /// <summary>Under <see cref="AttentionPrecision.Sage"/>: query / key tokens per INT8 scale (default 16 / 64).</summary>
    public VisualGen.Quantization.SageScaleBlocks SageBlocks { get; init; } = VisualGen.Quantization.SageScaleBlocks.Default;

    /// <summary>The --attention value these options describe.</summary>
    internal string AttentionFlag => Attention switch
    {
        AttentionPrecision.Fp8 => "fp8",
        AttentionPrecision.Sage => new Configuration.AttentionConfig { Precision = "sage", SageBlocks = SageBlocks }.Flag!,
        _ => "bf16",
    };

    /// <summary>The VAEs' precision on the native CUDA engine: "fp32" (default, as diffusers runs them) or "bf16".</summary>
    public string VaeDtype { get; init; } = "fp32";

    /// <summary>Tiled VAE decoding (diffusers' <c>vae.enable_tiling()</c>) for every request that does not set
    /// <see cref="Pipelines.GenerationRequest.VaeTiling"/>; every family has it.</summary>
    public bool VaeTiling { get; init; }

    /// <summary>GPU memory (bytes) the pipeline's engines may hold together; null: no limit.</summary>
    public long? GpuMemoryBudget { get; init; }

    /// <summary>Dynamic quantization of the diffusion transformer's linears when its graph is built (ModelOpt
    /// <c>quant_algo</c> and <c>ignore</c> patterns); null: none. A checkpoint whose config.json has a
    /// <c>quantization_config</c> runs quantized as stored (and refuses this).</summary>
    public VisualGen.Quantization.QuantizationConfig? Quantization { get; init; }

    /// <summary>The TeaCache of every request that sets no step cache (a configuration's <c>cache_config</c> with
    /// <c>cache_backend: teacache</c>); null: none. A request's own TeaCache or Cache-DiT wins.</summary>
    public VisualGen.Pipelines.Caching.TeaCacheOptions? TeaCache { get; init; }

    /// <summary>The Cache-DiT of every request that sets no step cache (<c>cache_backend: cache_dit</c>); null: none.</summary>
    public VisualGen.Pipelines.Caching.CacheDitOptions? CacheDit { get; init; }

    /// <summary>Receives the engine export/build lines ("exporting transformer ..."); null: none.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>The options a <see cref="Configuration.VisualGenConfig"/> (a YAML file through
    /// <see cref="Configuration.VisualGenConfig.Load"/>, or built in code) describes.</summary>
    public static VisualGenOptions FromConfig(Configuration.VisualGenConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new()
        {
            Engine = config.Engine ?? OrtCpu,
            EngineCacheDirectory = config.EngineCache,
            Attention = config.Attention.Precision switch { "fp8" => AttentionPrecision.Fp8, "sage" => AttentionPrecision.Sage, _ => AttentionPrecision.Bf16 },
            SageBlocks = config.Attention.SageBlocks,
            VaeDtype = config.VaeDtype ?? "fp32",
            VaeTiling = config.VaeTiling,
            GpuMemoryBudget = config.GpuMemoryGib is double g ? (long)(g * (1L << 30)) : null,
            Quantization = config.Quantization,
            TeaCache = config.TeaCache,
            CacheDit = config.CacheDit,
        };
    }

    /// <summary>Throws <see cref="ArgumentException"/> saying what to change when the options do not fit together.</summary>
    public void Validate()
    {
        if (Engine is not (OrtCpu or OrtCuda or NativeCuda))
            throw new ArgumentException($"unknown engine '{Engine}'; set {nameof(Engine)} to one of: {OrtCpu}, {OrtCuda}, {NativeCuda}", nameof(Engine));
        if (!Enum.IsDefined(Attention))
            throw new ArgumentException($"unknown attention precision {(int)Attention}; use {nameof(AttentionPrecision)}.Bf16, .Fp8 or .Sage", nameof(Attention));
        if (Attention != AttentionPrecision.Bf16 && Engine != NativeCuda)
            throw new ArgumentException($"{(Attention == AttentionPrecision.Sage ? "Sage" : "FP8")} attention runs on the native CUDA engine; set {nameof(Engine)} = \"{NativeCuda}\" (it is \"{Engine}\")", nameof(Attention));
        if (SageBlocks.Query == 0)
            throw new ArgumentException($"{nameof(SageBlocks)} is empty; use new SageScaleBlocks(query, key) or SageScaleBlocks.Default", nameof(SageBlocks));
        if (SageBlocks != VisualGen.Quantization.SageScaleBlocks.Default && Attention != AttentionPrecision.Sage)
            throw new ArgumentException($"{nameof(SageBlocks)} ({SageBlocks}) applies to Sage attention; set {nameof(Attention)} = {nameof(AttentionPrecision)}.Sage (it is {Attention})", nameof(SageBlocks));
        if (TeaCache is not null && CacheDit is not null)
            throw new ArgumentException($"{nameof(TeaCache)} and {nameof(CacheDit)} cannot be combined: set one step cache", nameof(CacheDit));
        if (VaeDtype is not ("fp32" or "bf16"))
            throw new ArgumentException($"unknown VAE dtype '{VaeDtype}'; set {nameof(VaeDtype)} to \"fp32\" or \"bf16\"", nameof(VaeDtype));
        if (VaeDtype == "bf16" && Engine != NativeCuda)
            throw new ArgumentException($"a bf16 VAE runs on the native CUDA engine; set {nameof(Engine)} = \"{NativeCuda}\" (it is \"{Engine}\")", nameof(VaeDtype));
        if (EngineCacheDirectory is not null && string.IsNullOrWhiteSpace(EngineCacheDirectory))
            throw new ArgumentException($"{nameof(EngineCacheDirectory)} is empty; name a folder, or leave it null for the default", nameof(EngineCacheDirectory));
        if (GpuMemoryBudget is <= 0)
            throw new ArgumentException($"{nameof(GpuMemoryBudget)} must be a positive number of bytes (or null for no limit), got {GpuMemoryBudget}", nameof(GpuMemoryBudget));
        if (GpuMemoryBudget is not null && Engine == OrtCpu)
            throw new ArgumentException($"{nameof(GpuMemoryBudget)} bounds the GPU memory the engines hold, and the {OrtCpu} engine holds none; set {nameof(Engine)} = \"{NativeCuda}\" or leave it null", nameof(GpuMemoryBudget));
    }
}
