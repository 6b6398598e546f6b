using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Exporter.Export;
using VisualGen.Pipelines.Caching;
using CudaAttention = VisualGen.Engines.Cuda.Runtime.AttentionPrecision;

namespace VisualGen.Server.Api;

/// <summary>
/// A model object's <c>engine</c>: how the server runs the model, read at startup from the objects its generations run
/// on (the engine provider's backends and quantization, the configured defaults' pipeline), after defaults, so that
/// it cannot say other than what runs. No paths (the model folder, the engine cache) and nothing secret.
/// </summary>
/// <param name="Name">The backend of the diffusion transformer (<c>ort-cpu</c>, <c>ort-cuda</c>, <c>native-cuda</c>).</param>
/// <param name="Attention">The transformer's self-attention on the native CUDA engine: <c>bf16</c>, <c>fp8</c> or
/// <c>sage:QxK</c> (Sage with its scale blocks); null on ONNX Runtime, whose attention is not configurable.</param>
/// <param name="Quantization">The transformer's linears: null when unquantized.</param>
/// <param name="VaeDtype">The VAE's precision: <c>bf16</c> (native CUDA engine with --vae-dtype bf16) or <c>fp32</c>.</param>
/// <param name="VaeTiling">Tiled VAE decoding for requests (every request: the server has no request field for it).</param>
/// <param name="GpuMemoryGib">GPU memory the engines may hold together (--gpu-memory); null: no limit.</param>
/// <param name="StepCache">The step cache of requests that choose none (--config's cache_config; a request's
/// <c>teacache_thresh</c> wins): a <see cref="TeaCacheSetting"/> or <see cref="CacheDitSetting"/>; null: none.</param>
public sealed record EngineSettings(string Name, string? Attention, QuantizationSetting? Quantization, string VaeDtype, bool VaeTiling,
    double? GpuMemoryGib, object? StepCache)
{
    /// <param name="engines">the provider the pipeline gets its engines from</param>
    /// <param name="model">the checkpoint the pipeline was loaded from (read for its components' classes and
    /// quantization_config; never reported)</param>
    /// <param name="defaults">the pipeline that gives requests the configuration's step cache and VAE tiling; null: none</param>
    public static EngineSettings Of(EngineProvider engines, string model, CacheDefaultPipeline? defaults)
    {
        var transformer = engines.BuildOf(model, "transformer");
        var backend = transformer?.Backend ?? engines.Backend;
        return new EngineSettings(
            backend.Name,
            backend is CudaBackend cuda ? AttentionText(cuda) : null,
            transformer?.Quantization is { } q ? new QuantizationSetting(q.Algo.Name, !transformer.FromCheckpoint, q.Ignore) : null,
            VaeDtypeOf(engines.BuildOf(model, "vae")?.Backend),
            defaults?.VaeTiling ?? false,
            engines.GpuMemoryBudget is long bytes ? bytes / (double)(1L << 30) : null,
            defaults?.TeaCache is { } tea ? new TeaCacheSetting("teacache", tea.Threshold, tea.Coefficients)
            : defaults?.CacheDit is { } dit ? new CacheDitSetting("cache_dit", dit.Fn, dit.Bn, dit.Threshold, dit.Warmup, dit.MaxCachedSteps)
            : null);
    }

    /// <summary>As --attention spells it, with the Sage scale blocks always given (the resolved default 16x64 too).</summary>
    static string AttentionText(CudaBackend b) => b.Attention switch
    {
        CudaAttention.Bf16 => "bf16",
        CudaAttention.Fp8 => "fp8",
        CudaAttention.Sage => $"sage:{b.SageBlocks}",
        var other => other.ToString().ToLowerInvariant(),
    };

    /// <summary>The native CUDA engine runs the VAE on a backend whose activations are all float32
    /// (<see cref="CudaBackend.Bf16MinRows"/> unreachable) unless --vae-dtype bf16 moved it to the bf16 one; ONNX Runtime
    /// runs the exported float32 graph.</summary>
    static string VaeDtypeOf(IEngineBackend? vae) => vae is CudaBackend { Bf16MinRows: < long.MaxValue } ? "bf16" : "fp32";
}

/// <summary>A transformer's quantization: ModelOpt's <c>quant_algo</c> (FP8, FP8_BLOCK_SCALES, NVFP4), whether its
/// weights are quantized when the graph is built (<c>dynamic</c>, --quant-algo or quant_config) or stored quantized in the
/// checkpoint (its quantization_config), and the module patterns left unquantized.</summary>
public sealed record QuantizationSetting(string Algo, bool Dynamic, IReadOnlyList<string> Ignore);

/// <summary>TeaCache as the step cache of requests that choose none: <c>teacache_thresh</c> and the coefficients
/// (highest power first); null coefficients: the family's shipped table, picked for each request.</summary>
public sealed record TeaCacheSetting(string Method, double Threshold, IReadOnlyList<double>? Coefficients);

/// <summary>Cache-DiT (DBCache) as the step cache of requests that choose none, with cache-dit's defaults applied:
/// <c>Fn_compute_blocks</c>, <c>Bn_compute_blocks</c>, <c>residual_diff_threshold</c>, <c>max_warmup_steps</c>,
/// <c>max_cached_steps</c> (null: no limit).</summary>
public sealed record CacheDitSetting(string Method, int Fn, int Bn, double Threshold, int Warmup, int? MaxCachedSteps);
