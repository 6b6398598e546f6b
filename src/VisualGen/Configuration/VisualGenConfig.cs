using System.Globalization;
using System.Text;
using VisualGen.Pipelines.Caching;
using VisualGen.Quantization;

namespace VisualGen.Configuration;

/// <summary>
/// One configuration of a run, shaped as NVIDIA's VisualGen (TensorRT-LLM's <c>VisualGenArgs</c>) has it: sections
/// <c>attention_config</c>, <c>parallel_config</c> (and, where implemented, <c>cache_config</c> and
/// <c>quant_config</c>), plus this project's engine settings. Given in code or as a YAML file (<c>--config FILE</c> on
/// the CLI and the server, whose flags override it). Unknown keys are refused with their path; sections and values the
/// project does not implement are refused by name, never ignored.
/// </summary>
public sealed record VisualGenConfig
{
    public static readonly string[] Engines = ["ort-cpu", "ort-cuda", "native-cuda"];

    /// <summary><c>engine</c>: ort-cpu, ort-cuda or native-cuda; null: the default (ort-cpu).</summary>
    public string? Engine { get; init; }

    /// <summary><c>engine_cache</c>: the engine cache folder; null: $VISUALGEN_CACHE, else ~/.cache/visualgen/engines.</summary>
    public string? EngineCache { get; init; }

    /// <summary><c>gpu_memory</c>: GiB the pipeline's engines may hold together on the GPU; null: no limit.</summary>
    public double? GpuMemoryGib { get; init; }

    public AttentionConfig Attention { get; init; } = new();

    /// <summary><c>vae_dtype</c>: fp32 (the default, as diffusers runs the VAEs) or bf16 (native-cuda only).</summary>
    public string? VaeDtype { get; init; }

    /// <summary><c>vae_tiling</c>: decode latents larger than one VAE tile in blended tiles (diffusers'
    /// <c>vae.enable_tiling()</c>; every family); default off.</summary>
    public bool VaeTiling { get; init; }

    public ParallelConfig Parallel { get; init; } = new();

    /// <summary><c>quant_config</c>: dynamic quantization of the transformers' linears when their graphs are built
    /// (ModelOpt's <c>quant_algo</c> and <c>ignore</c>); null: none (a checkpoint's own quantization_config still applies).</summary>
    public QuantizationConfig? Quantization { get; init; }

    /// <summary><c>cache_config</c> with <c>cache_backend: teacache</c>: the step cache of every generation that sets none.</summary>
    public TeaCacheOptions? TeaCache { get; init; }

    /// <summary><c>cache_config</c> with <c>cache_backend: cache_dit</c> (DBCache).</summary>
    public CacheDitOptions? CacheDit { get; init; }

    /// <summary>Reads and checks a YAML configuration file.</summary>
    /// <param name="checkEngine">false when command-line flags (--engine, --attention, --vae-dtype) go over the file and
    /// the caller checks the merged settings: a native-only setting in the file is then checked against the engine the
    /// run will have, not the file's alone</param>
    public static VisualGenConfig Load(string path, bool checkEngine = true)
    {
        string text;
        // a folder reads as "access denied" (the server) or "not found" (the CLI's earlier check): say what it is
        if (Directory.Exists(path)) throw new ConfigException(path, "is a folder; --config takes a YAML file");
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new ConfigException(path, $"cannot read the configuration: {e.Message}"); }
        return Parse(text, path, checkEngine);
    }

    public static VisualGenConfig Parse(string yaml, string origin, bool checkEngine = true)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(origin);
        var root = ConfigSection.Root(yaml, origin);
        var config = new VisualGenConfig
        {
            Engine = root.String("engine", Engines),
            EngineCache = root.String("engine_cache"),
            GpuMemoryGib = root.Number("gpu_memory", min: 1.0 / 1024),
            Attention = AttentionConfig.Read(root.Section("attention_config")),
            VaeDtype = root.String("vae_dtype", "fp32", "bf16"),
            VaeTiling = root.Boolean("vae_tiling") ?? false,
            Parallel = ParallelConfig.Read(root.Section("parallel_config")),
            Quantization = ReadQuantization(root.Section("quant_config"), origin),
        };
        // engine_cache: '' failed at the first engine, with a stack trace
        if (config.EngineCache is { } folder && string.IsNullOrWhiteSpace(folder))
            throw root.Error("engine_cache", "empty; name a folder, or leave it out for $VISUALGEN_CACHE, else ~/.cache/visualgen/engines");
        if (root.Section("cache_config") is { } cache) config = ReadCache(cache, config);
        root.Refuse("cpu_offload_config", "VisualGen offloads by a memory budget instead: set gpu_memory (GiB)");
        root.Refuse("cuda_graph_config", "the native engine always captures its transformer step as a CUDA graph; there is nothing to set");
        root.Refuse("torch_compile_config", "VisualGen does not run PyTorch; its engines are built ahead of time into the engine cache");
        root.Refuse("compilation_config", "engines are built for the shapes requested, on first use, into the engine cache; there is no warm-up list");
        root.Refuse("runtime_lora_config", "LoRA adapters are not implemented");
        root.Refuse("pipeline_config", "no pipeline takes per-architecture knobs yet");
        root.Refuse("model", "name the model on the command line (--model) or in VisualGenPipeline.Load");
        root.RejectUnknown();
        if (!checkEngine) return config;
        if (config.VaeDtype == "bf16" && config.Engine is not "native-cuda")
            throw new ConfigException(origin, $"vae_dtype: bf16 runs on the native CUDA engine; set engine: native-cuda (it is {config.Engine ?? "ort-cpu, the default"})");
        if (config.Attention.Precision is "fp8" or "sage" && config.Engine is not "native-cuda")
            throw new ConfigException(origin, $"attention_config.quant_attention_config ({(config.Attention.Precision == "sage" ? "Sage INT8/FP8" : "FP8")} attention) runs on the native CUDA engine; set engine: native-cuda (it is {config.Engine ?? "ort-cpu, the default"})");
        return config;
    }

    /// <summary><c>quant_config: {quant_algo: FP8 | FP8_BLOCK_SCALES | NVFP4, dynamic: true, ignore: [patterns]}</c>.</summary>
    static QuantizationConfig? ReadQuantization(ConfigSection? s, string origin)
    {
        if (s is null) return null;
        string? algo = s.String("quant_algo");
        bool? dynamic = s.Boolean("dynamic");
        var ignore = s.Strings("ignore") ?? [];
        s.RejectUnknown();
        if (algo is null) throw s.Error("quant_algo", "missing: FP8, FP8_BLOCK_SCALES or NVFP4");
        if (dynamic == false)
            throw s.Error("dynamic", "false describes a pre-quantized (static) checkpoint, whose config.json carries its own quantization_config and is loaded as it is; remove quant_config for it");
        try { return new QuantizationConfig(QuantAlgo.Parse(algo, "quant_config.quant_algo"), ignore); }
        catch (QuantizationException e) { throw new ConfigException(origin, e.Message); }
    }

    /// <summary><c>cache_config</c>, TensorRT-LLM's names: teacache (<c>teacache_thresh</c>, <c>coefficients</c>) or
    /// cache_dit (<c>Fn_compute_blocks</c>, <c>Bn_compute_blocks</c>, <c>residual_diff_threshold</c>,
    /// <c>max_warmup_steps</c>, <c>max_cached_steps</c>).</summary>
    static VisualGenConfig ReadCache(ConfigSection s, VisualGenConfig config)
    {
        string backend = s.String("cache_backend", "teacache", "cache_dit") ?? throw s.Error("cache_backend", "missing: teacache or cache_dit");
        if (backend == "teacache")
        {
            var tea = new TeaCacheOptions(s.Number("teacache_thresh", min: 0) ?? 0.2, s.Numbers("coefficients"));
            s.Refuse("use_ret_steps", "TeaCache's ret-steps variant is not implemented");
            s.Refuse("coefficients_2", "a second polynomial for Wan 2.2's low-noise expert is not implemented; each expert uses coefficients");
            s.RejectUnknown();
            if (tea.Coefficients is { Count: 0 }) throw s.Error("coefficients", "an empty list; give numbers (highest power first) or leave it out for the family's table");
            return config with { TeaCache = tea };
        }
        var d = new CacheDitOptions();
        int? maxCached = s.Integer("max_cached_steps", min: -1);
        var dit = new CacheDitOptions(
            Fn: s.Integer("Fn_compute_blocks", min: 1) ?? d.Fn,
            Bn: s.Integer("Bn_compute_blocks", min: 0) ?? d.Bn,
            Threshold: s.Number("residual_diff_threshold", min: 0) ?? d.Threshold,
            Warmup: s.Integer("max_warmup_steps", min: 0) ?? d.Warmup,
            MaxCachedSteps: maxCached is null or -1 ? d.MaxCachedSteps : maxCached);
        foreach (var key in new[] { "max_continuous_cached_steps", "enable_taylorseer", "taylorseer_order", "scm_steps_mask_policy", "scm_steps_policy",
                                     "force_refresh_step_hint", "force_refresh_step_policy", "enable_separate_cfg" })
            s.Refuse(key, "not implemented in VisualGen's DBCache");
        s.RejectUnknown();
        return config with { CacheDit = dit };
    }

    /// <summary>The configuration as YAML (the merged result that <c>info</c> prints).</summary>
    public string ToYaml()
    {
        var b = new StringBuilder();
        b.AppendLine($"engine: {Engine ?? "ort-cpu"}");
        b.AppendLine($"engine_cache: {EngineCache ?? "null  # $VISUALGEN_CACHE, else ~/.cache/visualgen/engines"}");
        b.AppendLine($"gpu_memory: {(GpuMemoryGib is double g ? g.ToString(CultureInfo.InvariantCulture) : "null  # no limit")}");
        b.AppendLine($"vae_dtype: {VaeDtype ?? "fp32"}");
        b.AppendLine($"vae_tiling: {(VaeTiling ? "true" : "false")}");
        b.AppendLine("attention_config:");
        b.AppendLine("  backend: default");
        if (Attention.Precision == "fp8")
            b.AppendLine("  quant_attention_config: {qk_dtype: fp8, v_dtype: fp8, q_block_size: 0, k_block_size: 0, v_block_size: 0}");
        else if (Attention.Precision == "sage")
            b.AppendLine($"  quant_attention_config: {{qk_dtype: int8, v_dtype: fp8, q_block_size: {Attention.SageBlocks.Query}, k_block_size: {Attention.SageBlocks.Key}, v_block_size: 0}}");
        b.AppendLine($"parallel_config: {{cfg_size: {Parallel.CfgSize}, ulysses_size: {Parallel.UlyssesSize}}}");
        if (TeaCache is { } t)
            b.AppendLine($"cache_config: {{cache_backend: teacache, teacache_thresh: {t.Threshold.ToString(CultureInfo.InvariantCulture)}" +
                (t.Coefficients is { } c ? $", coefficients: [{string.Join(", ", c.Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}]" : "") + "}");
        if (CacheDit is { } dc)
            b.AppendLine($"cache_config: {{cache_backend: cache_dit, Fn_compute_blocks: {dc.Fn}, Bn_compute_blocks: {dc.Bn}, residual_diff_threshold: " +
                $"{dc.Threshold.ToString(CultureInfo.InvariantCulture)}, max_warmup_steps: {dc.Warmup}, max_cached_steps: {dc.MaxCachedSteps ?? -1}}}");
        if (Quantization is { } q)
            b.AppendLine($"quant_config: {{quant_algo: {q.Algo.Name}, dynamic: true, ignore: [{string.Join(", ", q.Ignore.Select(p => $"'{p}'"))}]}}");
        return b.ToString();
    }
}

/// <summary><c>attention_config</c>: <c>backend</c> (default: the engine's fused kernel) and an optional
/// <c>quant_attention_config</c> recipe. The native engine runs two: FP8 Q/K/V with one scale per tensor (qk_dtype fp8,
/// v_dtype fp8, all block sizes 0; cuDNN's FP8 attention) and Sage-style (qk_dtype int8, v_dtype fp8: INT8 Q and smoothed
/// K with one scale per q_block_size query / k_block_size key tokens — 16, 32, 64 or 128 / 64 or 128, 0 for the default
/// 16 / 64 — and FP8 V with one scale per channel, v_block_size 0).</summary>
public sealed record AttentionConfig
{
    /// <summary>"bf16", "fp8" or "sage": the precision the engines take (<c>--attention</c>); null: the default (bf16).</summary>
    public string? Precision { get; init; }
    /// <summary>Under "sage": tokens per INT8 scale of Q and of K.</summary>
    public SageScaleBlocks SageBlocks { get; init; } = SageScaleBlocks.Default;

    /// <summary>The <c>--attention</c> value this describes: bf16, fp8, sage, or sage:QxK for other Sage scale blocks;
    /// null: the default (bf16).</summary>
    public string? Flag => Precision == "sage" && SageBlocks != SageScaleBlocks.Default ? $"sage:{SageBlocks}" : Precision;

    /// <summary>The configuration an <c>--attention</c> value describes (<see cref="Flag"/>'s inverse); a malformed
    /// sage:QxK throws <see cref="ArgumentException"/> saying why. Precision names are checked where engines are made.</summary>
    public static AttentionConfig FromFlag(string flag) => flag.StartsWith("sage:", StringComparison.Ordinal)
        ? new AttentionConfig { Precision = "sage", SageBlocks = SageScaleBlocks.Parse(flag["sage:".Length..]) }
        : new AttentionConfig { Precision = flag };

    internal static AttentionConfig Read(ConfigSection? s)
    {
        if (s is null) return new AttentionConfig();
        s.String("backend", "default");
        string? precision = null;
        var blocks = SageScaleBlocks.Default;
        if (s.Section("quant_attention_config") is { } q)
        {
            string qk = q.String("qk_dtype", "bf16", "int8", "fp8", "mxfp8", "nvfp4") ?? "bf16";
            string v = q.String("v_dtype", "fp8") ?? "fp8";
            int qb = q.Integer("q_block_size", 0) ?? 0, kb = q.Integer("k_block_size", 0) ?? 0, vb = q.Integer("v_block_size", 0) ?? 0;
            q.RejectUnknown();
            if ((qk, v, qb, kb, vb) == ("fp8", "fp8", 0, 0, 0))
                precision = "fp8";
            else if (qk == "int8" && v == "fp8" && vb == 0 && (qb is 0 || SageScaleBlocks.QueryChoices.Contains(qb)) &&
                     (kb is 0 || SageScaleBlocks.KeyChoices.Contains(kb)))
            {
                precision = "sage";
                blocks = new SageScaleBlocks(qb is 0 ? blocks.Query : qb, kb is 0 ? blocks.Key : kb);
            }
            else
                throw s.Error("quant_attention_config",
                    $"the recipe qk_dtype {qk}, v_dtype {v}, blocks ({qb}, {kb}, {vb}) is not implemented; the native engine runs qk_dtype fp8, v_dtype fp8 with one scale per tensor (block sizes 0), " +
                    $"or Sage-style qk_dtype int8 (q_block_size {string.Join(", ", SageScaleBlocks.QueryChoices)}; k_block_size {string.Join(", ", SageScaleBlocks.KeyChoices)}; 0 for 16 and 64), v_dtype fp8 per channel (v_block_size 0)");
        }
        s.Refuse("sparse_attention_config", "sparse attention is not implemented");
        s.RejectUnknown();
        return new AttentionConfig { Precision = precision, SageBlocks = blocks };
    }
}

/// <summary><c>parallel_config</c>: every degree must be 1 — this build runs on one GPU (multi-GPU is issue 15).</summary>
public sealed record ParallelConfig
{
    public int CfgSize { get; init; } = 1;
    public int UlyssesSize { get; init; } = 1;

    static readonly string[] Degrees = ["cfg_size", "ulysses_size", "ring_size", "tp_size", "parallel_vae_size"];

    internal static ParallelConfig Read(ConfigSection? s)
    {
        if (s is null) return new ParallelConfig();
        foreach (var key in Degrees)
            if (s.Integer(key, min: 1) is int n && n != 1)
                throw s.Error(key, $"{n} GPUs: multi-GPU parallelism is not implemented in this build (one GPU); set it to 1 or remove it");
        s.Refuse("attn2d_size", "multi-GPU parallelism is not implemented in this build");
        if (s.Boolean("async_ulysses") == true) throw s.Error("async_ulysses", "needs ulysses_size > 1, and multi-GPU parallelism is not implemented in this build");
        s.String("parallel_vae_split_dim", "width", "height");
        s.RejectUnknown();
        return new ParallelConfig();
    }
}
