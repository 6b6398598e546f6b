using VisualGen.Configuration;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Engines.OnnxRuntime;
using VisualGen.Exporter.Export;
using VisualGen.Quantization;

namespace VisualGen.Exporter.Commands;

/// <summary>Wiring shared by the CLI, the server and the build command: the engine cache location and backends.</summary>
public static class Runtime
{
    /// <summary>--engine-cache, else $VISUALGEN_CACHE, else ~/.cache/visualgen/engines. An empty variable counts as unset
    /// (as $VISUALGEN_STORE's): VISUALGEN_CACHE= made every command fail with a stack trace.</summary>
    public static string CacheDirectory(string? flag) =>
        flag ?? (Environment.GetEnvironmentVariable("VISUALGEN_CACHE") is { Length: > 0 } variable ? variable : null)
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "visualgen", "engines");

    public const string Engines = "ort-cpu, ort-cuda, native-cuda";

    /// <summary>A note for a run left on the default engine (no --engine, none in the configuration file) on a machine
    /// whose GPU the native engine could use (<paramref name="gpuReady"/>, default <see cref="CudaBackend.DeviceReady"/>),
    /// or null: the default is ONNX Runtime CPU everywhere, so that the same command means the same engine on every
    /// machine, and a user with a GPU is told rather than switched.</summary>
    public static string? DefaultEngineNote(string? engine, Func<bool>? gpuReady = null) =>
        engine is null && (gpuReady ?? CudaBackend.DeviceReady)()
            ? "note: running on ONNX Runtime CPU (the default engine); this machine's CUDA GPU runs it far faster with --engine native-cuda"
            : null;

    /// <summary>The backend named on the command line ("ort-cpu" default, "ort-cuda"); "native-cuda" runs on ONNX
    /// Runtime CPU except for the component classes <see cref="NativeClasses"/> lists.</summary>
    /// <summary>An --engine value as the other enumerated flags are read: any case, surrounding spaces ignored (ORT-CPU is
    /// ort-cpu), for the CLI and the server alike; what the value is, is checked with the merged settings.</summary>
    public static string? EngineName(string? value) => value?.Trim().ToLowerInvariant();

    public static IEngineBackend Backend(string? name) => (name ?? "ort-cpu") switch
    {
        "ort-cpu" or "native-cuda" => new OrtBackend(OrtDevice.Cpu),
        "ort-cuda" => new OrtBackend(OrtDevice.Cuda),
        var other => throw new UsageException($"unknown engine '{other}'; available: {Engines}"),
    };

    /// <summary>The component classes the native CUDA engine runs, each with its activation precision: the diffusion
    /// transformers and the text/image encoders in bf16 (diffusers runs them in the pipeline's bf16), the VAEs in float32
    /// (diffusers' default for Wan's VAE; FLUX.1's AutoencoderKL force_upcast). FLUX.1's CLIPTextModel runs its causal
    /// mask through the general attention path and its pooled output through Equal/ArgMax/GatherND on the device token
    /// ids; AutoencoderKL's GroupNorms are one kernel each (vg_group_norm, with the SiLU after them). Qwen-Image's
    /// Qwen2.5-VL text model reads its attention_mask when a shape is planned (positions = cumsum(mask) - 1, the rotary
    /// tables and the causal + padding mask fold on the host) and runs grouped-query attention through the general path;
    /// FLUX.2's Mistral3 language model (causal mask folded, padding mask on the device) and AutoencoderKLFlux2 (the
    /// AutoencoderKL graph) need no op the engine lacks (checked on an H200: cos 0.999992, 0.999952 and 0.999999 against
    /// the float32 goldens). <c>--vae-dtype bf16</c> moves the Float32 classes (the VAEs) to the bf16 backend. The FLUX.2,
    /// Cosmos3 and LTX-2 transformers run their RoPE as one rotate-half step (Cosmos3's mRoPE tables folded at plan time
    /// from position_ids) and LTX-2's and Cosmos3's masked attention through the general path. LTX-2's Gemma 3 (its
    /// sliding-window mask folded at plan time), text connectors (the attention_mask read when a shape is planned; Where
    /// and the masked maxima on the device), video VAE (edge and reflect padding), audio VAE and vocoder (LeakyRelu,
    /// ConvTranspose as a convolution of the zero-stuffed input) run natively too. Classes not listed run on ONNX
    /// Runtime CPU.</summary>
    public static readonly IReadOnlyDictionary<string, NativePrecision> NativeClasses = new Dictionary<string, NativePrecision>(StringComparer.Ordinal)
    {
        ["WanTransformer3DModel"] = NativePrecision.Bf16,
        ["FluxTransformer2DModel"] = NativePrecision.Bf16,
        ["QwenImageTransformer2DModel"] = NativePrecision.Bf16,
        ["Flux2Transformer2DModel"] = NativePrecision.Bf16,
        ["Cosmos3OmniTransformer"] = NativePrecision.Bf16,
        ["LTX2VideoTransformer3DModel"] = NativePrecision.Bf16,
        ["UMT5EncoderModel"] = NativePrecision.Bf16,
        ["T5EncoderModel"] = NativePrecision.Bf16,
        ["CLIPVisionModel"] = NativePrecision.Bf16,
        ["CLIPTextModel"] = NativePrecision.Bf16,
        ["Qwen2_5_VLForConditionalGeneration"] = NativePrecision.Bf16,
        ["Mistral3ForConditionalGeneration"] = NativePrecision.Bf16,
        ["AutoencoderKL"] = NativePrecision.Float32,
        ["AutoencoderKLWan"] = NativePrecision.Float32,
        ["AutoencoderKLQwenImage"] = NativePrecision.Float32,
        ["AutoencoderKLFlux2"] = NativePrecision.Float32,
        ["Gemma3ForConditionalGeneration"] = NativePrecision.Bf16,
        ["LTX2TextConnectors"] = NativePrecision.Bf16,
        ["AutoencoderKLLTX2Video"] = NativePrecision.Float32,
        ["AutoencoderKLLTX2Audio"] = NativePrecision.Float32,
        ["LTX2Vocoder"] = NativePrecision.Float32,
    };

    public enum NativePrecision { Bf16, Float32 }

    /// <summary>--attention: "bf16" (default), "fp8" (self-attention in FP8 with per-tensor scales, cuDNN) or "sage"
    /// (Sage-style self-attention: INT8 Q·Kᵀ with smoothed K, FP8 P·V; "sage:QxK" with Q query / K key tokens per INT8
    /// scale, default 16x64), the last two on the native CUDA engine.</summary>
    public static AttentionPrecision Attention(string? attentionFlag, string? engineFlag)
    {
        var precision = AttentionSetting(attentionFlag ?? "bf16").Precision switch
        {
            "bf16" => AttentionPrecision.Bf16,
            "fp8" => AttentionPrecision.Fp8,
            "sage" => AttentionPrecision.Sage,
            var other => throw new UsageException($"unknown attention precision '{other}'; available: bf16, fp8, sage, sage:QxK"),
        };
        if (precision != AttentionPrecision.Bf16 && engineFlag != "native-cuda")
            throw new UsageException($"--attention {attentionFlag} runs on the native CUDA engine; add --engine native-cuda (the engine is {engineFlag ?? "ort-cpu"})");
        return precision;
    }

    /// <summary>The Sage scale blocks an --attention value names (sage:QxK; the default for every other value).</summary>
    public static SageScaleBlocks SageBlocks(string? attentionFlag) => AttentionSetting(attentionFlag ?? "bf16").SageBlocks;

    /// <summary>What an --attention value (bf16, fp8, sage, sage:QxK) describes; a malformed sage:QxK is a usage error
    /// naming it. The precision name itself is checked by <see cref="Attention"/>.</summary>
    public static AttentionConfig AttentionSetting(string attentionFlag)
    {
        try { return AttentionConfig.FromFlag(attentionFlag); }
        catch (ArgumentException e) { throw new UsageException($"--attention {attentionFlag}: {e.Message}"); }
    }

    /// <summary>--vae-dtype: "fp32" (default: diffusers runs the VAEs in float32) or "bf16" (the VAEs' convolutions and
    /// GEMMs in bf16 on the native CUDA engine: faster and half the activation memory, at cosine ≈ 0.9999 instead of
    /// 0.999999 against float32). Returns the precision of the VAE classes.</summary>
    public static NativePrecision VaePrecision(string? vaeDtypeFlag, string? engineFlag)
    {
        var precision = (vaeDtypeFlag ?? "fp32") switch
        {
            "fp32" => NativePrecision.Float32,
            "bf16" => NativePrecision.Bf16,
            var other => throw new UsageException($"unknown VAE dtype '{other}'; available: fp32, bf16"),
        };
        if (precision == NativePrecision.Bf16 && engineFlag != "native-cuda")
            throw new UsageException($"--vae-dtype bf16 runs on the native CUDA engine; add --engine native-cuda (the engine is {engineFlag ?? "ort-cpu"}, which runs the VAE in fp32)");
        return precision;
    }

    /// <summary>build --embed-weights: only native-cuda entries reference the checkpoint's weights, so only there does
    /// copying them in change anything; ONNX Runtime's entries (ort-cpu, ort-cuda) always hold their own copy. On another
    /// engine the switch is a usage error naming it and the engine, rather than accepted and ignored.</summary>
    public static void EmbedWeights(bool embedWeights, string? engineFlag)
    {
        if (embedWeights && engineFlag != "native-cuda")
            throw new UsageException($"--embed-weights copies the checkpoint's weights into native-cuda entries, which otherwise reference them; the engine is {engineFlag ?? "ort-cpu"}, whose entries always hold their own copy: add --engine native-cuda, or remove --embed-weights");
    }

    /// <summary>--gpu-memory: GiB (a positive number) → bytes; null when not given.</summary>
    public static long? GpuMemory(string? flag)
    {
        if (flag is null) return null;
        if (!double.TryParse(flag, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double gib) || !(gib > 0) || double.IsInfinity(gib))
            throw new UsageException($"--gpu-memory must be a positive number of GiB, got '{flag}'");
        return (long)(gib * (1L << 30));
    }

    /// <summary>Refuses, as usage errors, run settings that cannot go together or name nothing: an unknown engine, a GPU
    /// memory budget or a native-only attention or VAE precision on an engine without them. Creates nothing, so a command
    /// that only prints the settings (info) refuses what generate would.</summary>
    public static void CheckSettings(string? engineFlag, string? attentionFlag, long? gpuMemoryBudget, string? vaeDtypeFlag)
    {
        if (engineFlag is not null && !VisualGenConfig.Engines.Contains(engineFlag))
            throw new UsageException($"unknown engine '{engineFlag}'; available: {Engines}");
        if (gpuMemoryBudget is not null && (engineFlag ?? "ort-cpu") == "ort-cpu")
            throw new UsageException("--gpu-memory bounds the GPU memory the engines hold, and the ort-cpu engine holds none; add --engine native-cuda, or remove --gpu-memory (or gpu_memory from the --config file)");
        Attention(attentionFlag, engineFlag);
        VaePrecision(vaeDtypeFlag, engineFlag);
    }

    /// <param name="nativeClasses">the classes native-cuda runs (default <see cref="NativeClasses"/>; a benchmark may add a class
    /// not yet validated there, and says so)</param>
    /// <param name="cancellation">stops the builds the provider's engine requests start (<see cref="EngineProvider.Cancellation"/>)</param>
    public static EngineProvider CreateEngineProvider(string? cacheFlag, string? engineFlag, IProgress<string>? log, string? attentionFlag = null,
        long? gpuMemoryBudget = null, VisualGen.Quantization.QuantizationConfig? quantization = null, bool embedWeights = false,
        string? vaeDtypeFlag = null, IReadOnlyDictionary<string, NativePrecision>? nativeClasses = null, CancellationToken cancellation = default)
    {
        var overrides = new Dictionary<string, IEngineBackend>();
        CheckSettings(engineFlag, attentionFlag, gpuMemoryBudget, vaeDtypeFlag);
        EmbedWeights(embedWeights, engineFlag);
        var attention = Attention(attentionFlag, engineFlag);
        var sageBlocks = SageBlocks(attentionFlag);
        var vae = VaePrecision(vaeDtypeFlag, engineFlag);
        if (engineFlag == "native-cuda")
        {
            var bf16 = new CudaBackend { Attention = attention, SageBlocks = sageBlocks, Log = log };
            var fp32 = new CudaBackend { Attention = attention, SageBlocks = sageBlocks, Bf16MinRows = long.MaxValue, Log = log };
            // the Float32 classes are the VAEs: --vae-dtype bf16 moves them to the bf16 backend
            foreach (var (c, precision) in nativeClasses ?? NativeClasses) overrides[c] = precision == NativePrecision.Float32 && vae == NativePrecision.Float32 ? fp32 : bf16;
        }
        return new(new EngineCache(CacheDirectory(cacheFlag)), Backend(engineFlag), ComponentExporterRegistry.CreateDefault(),
            new EngineBuildOptions { Opset = Onnx.OnnxWriter.Opset, EmbedWeights = embedWeights })
        {
            Log = log,
            ClassBackends = overrides,
            GpuMemoryBudget = gpuMemoryBudget,
            DynamicQuantization = quantization,
            Cancellation = cancellation,
        };
    }
}
