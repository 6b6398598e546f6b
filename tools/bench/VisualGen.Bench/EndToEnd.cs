using System.Diagnostics;
using VisualGen.Exporter.Commands;
using VisualGen.Engines;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Pipelines;
using VisualGen.Pipelines.Wan;
using VisualGen.Tensors;

/// <summary>
/// A generation through the library (the CLI's code path, <c>--engine native-cuda</c>), timed as the diffusers scripts
/// time diffusers: a first generation (engines exported/built or loaded from the cache, shapes planned, CUDA graphs
/// captured), then a second one timed by stage (encode, denoise, decode; progress callbacks, every stage ends with its
/// results on the host). Prints one TABLE line per run and the process's peak host memory.
/// <list type="bullet">
/// <item><c>visualgen-bench e2e MODEL CACHE HEIGHT WIDTH FRAMES STEPS [PRECISIONS] [GPU_MEMORY_GIB]</c>: Wan text-to-video,
/// guidance 5 with a negative prompt (<c>../shared/peer/bench_e2e_wan.py run</c>), then the VAE decode profiled call by
/// call; with GPU_MEMORY_GIB the runs under that budget, as e2e-qwen's (one precision).</item>
/// <item><c>visualgen-bench e2e-flux MODEL CACHE HEIGHT WIDTH STEPS [bf16|fp8|sage]</c>: FLUX.1 text-to-image, embedded
/// guidance 3.5, no negative prompt (<c>tools/bench/bench_e2e_flux.py run</c>).</item>
/// <item><c>visualgen-bench e2e-qwen MODEL CACHE HEIGHT WIDTH STEPS [bf16|fp8|sage] [GPU_MEMORY_GIB]</c>: Qwen-Image
/// text-to-image, true CFG 4 with a negative prompt (<c>tools/bench/bench_e2e_qwen.py run</c>). With GPU_MEMORY_GIB the
/// same two runs under that GPU memory budget (the API's GpuMemoryBudget, the CLI's --gpu-memory): a stage's engines are
/// loaded from the engine cache when it begins and earlier stages' engines released to make room; each run's line names
/// what was loaded and released.</item>
/// </list>
/// PRECISIONS: a comma list of attention precisions (bf16, fp8, sage; the linears bf16) or LINEARS/ATTENTION items (e.g.
/// fp8/sage: the transformers' linears quantized to FP8 at build); the runs after the first reuse its text encoders and VAE.
/// The engine is native-cuda unless the environment variable VG_E2E_ENGINE names another (ort-cpu: a CPU smoke test of
/// the command on a small checkpoint). VG_E2E_NATIVE_CLASSES (comma-separated model_index.json class names) adds classes
/// native-cuda runs in bf16 beyond the validated ones (Qwen2_5_VLForConditionalGeneration: Qwen-Image's text encoder); the
/// output says so. After the runs without a budget it prints each engine's GPU bytes and a budget that forces per-stage
/// loading.
/// </summary>
static class EndToEnd
{
    const string Prompt = "A red fox runs across a snowy field at dawn.";

    public static int Wan(string model, string cacheDir, int height, int width, int frames, int steps, string attentions, double? gpuMemoryGib)
    {
        var request = new GenerationRequest
        {
            Prompt = Prompt, NegativePrompt = "low quality",
            Height = height, Width = width, NumFrames = frames, NumInferenceSteps = steps, GuidanceScale = 5.0, Seed = 42,
        };
        if (gpuMemoryGib is double gib) return Guarded(() => Offload(model, cacheDir, $"{height}x{width}x{frames}", attentions, request, gib));
        return Run(model, cacheDir, $"{height}x{width}x{frames}", attentions, request, provider =>
        {
            var fp32 = ProfileDecode(provider, model, frames, height, width, "fp32");
            // the same decode with --vae-dtype bf16: time and cosine against the fp32 VAE's frames
            using var bf16Provider = Runtime.CreateEngineProvider(cacheDir, "native-cuda", null, vaeDtypeFlag: "bf16");
            var bf16 = ProfileDecode(new Loaded(bf16Provider), model, frames, height, width, "bf16");
            var (cos, max, _) = Similarity.Compare(fp32.Floats, bf16.Floats);
            Console.WriteLine($"decode bf16 VAE vs fp32 VAE: cos {cos:F6}, max abs {max:E2}");
        });
    }

    public static int Flux(string model, string cacheDir, int height, int width, int steps, string attentions) =>
        Run(model, cacheDir, $"{height}x{width}", attentions, new GenerationRequest
        {
            Prompt = Prompt, Height = height, Width = width, NumInferenceSteps = steps, GuidanceScale = 3.5, Seed = 42,
        }, provider => ProfileImageDecode(provider, model, "vae.decoder", "latents", [1, 16, height / 8, width / 8]));

    public static int Qwen(string model, string cacheDir, int height, int width, int steps, string attentions, double? gpuMemoryGib)
    {
        var request = new GenerationRequest
        {
            Prompt = Prompt, NegativePrompt = "blurry, low quality", TrueCfgScale = 4.0,
            Height = height, Width = width, NumInferenceSteps = steps, Seed = 42,
        };
        return gpuMemoryGib is double gib
            ? Guarded(() => Offload(model, cacheDir, $"{height}x{width}", attentions, request, gib))
            : Run(model, cacheDir, $"{height}x{width}", attentions, request,
                provider => ProfileImageDecode(provider, model, "vae.decoder_first", WanVaeDecoder.LatentsInput, [1, 16, 1, height / 8, width / 8]));
    }

    /// <summary>The engine the runs use: native-cuda, or VG_E2E_ENGINE's value.</summary>
    static string EngineName => Environment.GetEnvironmentVariable("VG_E2E_ENGINE") is { Length: > 0 } e ? e : "native-cuda";

    /// <summary>Whether the decode is profiled after the first precision's runs: VG_E2E_PROFILE=0 skips it (it builds a
    /// second VAE engine and decodes twice more: time a short device session may not have).</summary>
    static bool Profiles => Environment.GetEnvironmentVariable("VG_E2E_PROFILE") != "0";

    /// <summary>The VAE precision of the runs (<c>--vae-dtype</c>): VG_E2E_VAE_DTYPE's value, else the default (fp32).
    /// diffusers' FluxPipeline decodes in the pipeline's bf16, its Wan example in fp32.</summary>
    static string? VaeDtype => Environment.GetEnvironmentVariable("VG_E2E_VAE_DTYPE") is { Length: > 0 } v ? v : null;

    /// <summary>Per attention precision: the first run and the warm run of <paramref name="request"/> (its step count is
    /// the warm run's), then <paramref name="profile"/> once on the first precision's engines.</summary>
    static int Run(string model, string cacheDir, string size, string attentions, GenerationRequest request, Action<IEngineProvider>? profile) =>
        Guarded(() => RunAll(model, cacheDir, size, attentions, request, profile));

    static int Guarded(Func<int> run)
    {
        try { return run(); }
        catch (EngineException e)
        {
            // no GPU or no libvisualgen_native.so: one line that says so, not a stack trace
            Console.Error.WriteLine($"e2e: {e.Message.Split('\n')[0]}" +
                (EngineName == "native-cuda" ? " (VG_E2E_ENGINE=ort-cpu runs the command on the CPU)" : ""));
            return 1;
        }
        catch (Exception e) when (e is GenerationException or VisualGen.Quantization.QuantizationException)
        {
            // a request the pipeline refuses (size, steps) or an unknown quant_algo: its message, not a stack trace
            Console.Error.WriteLine($"e2e: {e.Message}");
            return 1;
        }
    }

    static int RunAll(string model, string cacheDir, string size, string attentions, GenerationRequest request, Action<IEngineProvider>? profile)
    {
        var clock = Stopwatch.StartNew();
        var log = new Progress<string>(l => Console.WriteLine("  " + l));
        var precisions = attentions.Split(',');
        string engine = EngineName;
        int steps = request.NumInferenceSteps!.Value;
        if (engine != "native-cuda") Console.WriteLine($"engine {engine} (VG_E2E_ENGINE)");
        if (VaeDtype is { } vae) Console.WriteLine($"VAE {vae} (VG_E2E_VAE_DTYPE)");
        var nativeClasses = NativeClasses();
        var (firstQuant, firstAttention) = Precision(precisions[0]);
        using var built = Runtime.CreateEngineProvider(cacheDir, engine, log, firstAttention, quantization: firstQuant, vaeDtypeFlag: VaeDtype, nativeClasses: nativeClasses);
        var provider = new Loaded(built);
        foreach (var attention in precisions)
        {
            // a later precision shares the text encoders and VAE already loaded; only the transformers load again
            var (quant, attentionFlag) = Precision(attention);
            using var transformers = attention == precisions[0] ? null : Runtime.CreateEngineProvider(cacheDir, engine, log, attentionFlag, quantization: quant, vaeDtypeFlag: VaeDtype, nativeClasses: nativeClasses);
            IEngineProvider engines = transformers is null ? provider : new TransformersFrom(provider, transformers);
            using var pipeline = ModelFamilies.CreateRegistry().Create(model, engines);
            // the first generation loads (or builds) the engines, plans the shapes and captures the CUDA graphs; like the
            // diffusers scripts' warm-up it runs few steps when the timed run has many: two, since Qwen-Image's schedule
            // (shift_terminal) refuses a single step
            int firstSteps = WarmUpSteps(steps);
            double before = clock.Elapsed.TotalSeconds;
            var first = Timed(pipeline, request with { NumInferenceSteps = firstSteps });
            Console.WriteLine($"TABLE ours first run, {Label(attention)} ({size}, {firstSteps} steps) | encode {first.Encode:F2} s | denoise {first.Denoise:F2} s | decode {first.Decode:F2} s | total {first.Total:F2} s; process start to first step done {before + first.FirstStepAt:F1} s, to result {clock.Elapsed.TotalSeconds:F1} s");
            var second = Timed(pipeline, request);
            Console.WriteLine($"TABLE ours warm ({size}, {steps} steps, {Label(attention)}) | encode {second.Encode:F2} s | denoise {second.Denoise:F2} s ({second.Denoise / steps * 1000:F0} ms/step) | decode {second.Decode:F2} s | total {second.Total:F2} s");
            if (attention == precisions[0]) RunStepCaches(pipeline, request, second, size, Label(attention));
            if (attention == precisions[0] && engine == "native-cuda" && Profiles) profile?.Invoke(provider);
        }
        PrintOffloadBudget(provider);
        using var self = Process.GetCurrentProcess();
        Console.WriteLine($"peak host memory (RSS) {self.PeakWorkingSet64 / 1e9:F1} GB");
        return 0;
    }

    /// <summary>One item of the precision list: ATTENTION (bf16 linears), or LINEARS/ATTENTION with LINEARS a quant_algo
    /// (fp8, fp8_block, nvfp4) the transformers are quantized to dynamically at build, as <c>--quant-algo</c> does.</summary>
    static (VisualGen.Quantization.QuantizationConfig? Quant, string Attention) Precision(string item)
    {
        int slash = item.IndexOf('/');
        if (slash < 0) return (null, item);
        return (Linears(item[..slash], "e2e precision"), item[(slash + 1)..]);
    }

    /// <summary>The LINEARS of a LINEARS/ATTENTION item (the e2e and wan-quant benchmarks): bf16 (null: not quantized),
    /// or a quant_algo (fp8, fp8_block, nvfp4) the transformers are quantized to dynamically at build.</summary>
    internal static VisualGen.Quantization.QuantizationConfig? Linears(string linears, string what) =>
        linears.Equals("bf16", StringComparison.OrdinalIgnoreCase) ? null
            : new VisualGen.Quantization.QuantizationConfig(VisualGen.Quantization.QuantAlgo.Parse(linears, what), []);

    /// <summary>"sage attention", "fp8 linears, sage attention".</summary>
    static string Label(string item) => item.Contains('/') ? $"{item[..item.IndexOf('/')]} linears, {item[(item.IndexOf('/') + 1)..]} attention" : $"{item} attention";

    /// <summary>VG_E2E_STEP_CACHES (comma-separated: <c>teacache:THRESHOLD</c> with the family's coefficients or
    /// <c>teacache:THRESHOLD:C1/C2/...</c> with these (highest power first; <c>1/0</c> compares the raw relative L1, which
    /// random weights need: the shipped polynomials are fitted to real checkpoints), <c>cachedit</c> with the defaults or
    /// <c>cachedit:THRESHOLD</c>): the warm request again with each step cache, its time against the run without one,
    /// the steps it computed, and its output against the uncached output (PSNR for values in [0, 1], and cosine).</summary>
    static void RunStepCaches(IGenerationPipeline pipeline, GenerationRequest request, Times plain, string size, string attention)
    {
        var specs = (Environment.GetEnvironmentVariable("VG_E2E_STEP_CACHES") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var spec in specs)
        {
            var parts = spec.Split(':');
            double? x = parts.Length > 1 && double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : null;
            var cached = parts[0] switch
            {
                "teacache" when x is double t => request with { TeaCache = new VisualGen.Pipelines.Caching.TeaCacheOptions(t, Coefficients(parts)) },
                "cachedit" => request with { CacheDit = x is double t ? new VisualGen.Pipelines.Caching.CacheDitOptions(Threshold: t) : new VisualGen.Pipelines.Caching.CacheDitOptions() },
                _ => throw new GenerationException("step cache", $"VG_E2E_STEP_CACHES item '{spec}': use teacache:THRESHOLD[:C1/C2/...], cachedit or cachedit:THRESHOLD"),
            };
            var run = Timed(pipeline, cached);
            var (cos, _, _) = Similarity.Compare(plain.Result.Output.Floats, run.Result.Output.Floats);
            double psnr = Similarity.Psnr(plain.Result.Output.Floats, run.Result.Output.Floats);
            Console.WriteLine($"TABLE ours warm, {spec} ({size}, {attention}) | denoise {run.Denoise:F2} s | total {run.Total:F2} s " +
                $"({plain.Total / run.Total:F2}× the uncached {plain.Total:F2} s) | {run.Result.StepCache} | output vs uncached: PSNR {psnr:F1} dB, cos {cos:F6}");
        }
    }

    /// <summary>The coefficient list of a <c>teacache:THRESHOLD:C1/C2/...</c> item, or null for the family's.</summary>
    static IReadOnlyList<double>? Coefficients(string[] parts) => parts.Length < 3 ? null
        : parts[2].Split('/').Select(c => double.TryParse(c, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v
            : throw new GenerationException("step cache", $"VG_E2E_STEP_CACHES: TeaCache coefficient '{c}' is not a number")).ToList();

    /// <summary>The validated native classes plus VG_E2E_NATIVE_CLASSES's (bf16), announced.</summary>
    static IReadOnlyDictionary<string, Runtime.NativePrecision> NativeClasses()
    {
        var extra = (Environment.GetEnvironmentVariable("VG_E2E_NATIVE_CLASSES") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (extra.Length == 0 || EngineName != "native-cuda") return Runtime.NativeClasses;
        Console.WriteLine($"native-cuda also runs {string.Join(", ", extra)} in bf16 (VG_E2E_NATIVE_CLASSES; not in the validated list)");
        var classes = new Dictionary<string, Runtime.NativePrecision>(Runtime.NativeClasses, StringComparer.Ordinal);
        foreach (var c in extra) classes[c] = Runtime.NativePrecision.Bf16;
        return classes;
    }

    static string Gib(long bytes) => $"{bytes / (double)(1L << 30):F2} GiB";

    /// <summary>Each engine's GPU bytes after the runs, the device's resident tensors, and the smallest budget (quarter
    /// GiB steps, a quarter to spare) in which every engine fits alone beside those tensors (the budget counts them): under
    /// it, the two largest cannot stay loaded together.</summary>
    static void PrintOffloadBudget(Loaded provider)
    {
        var sizes = provider.Engines.Where(e => e.Bytes > 0).OrderByDescending(e => e.Bytes).ToList();
        if (sizes.Count < 2) return;
        long tensors = provider.TensorBytes;
        Console.WriteLine("engines on the GPU: " + string.Join(", ", sizes.Select(e => $"{e.Component} {Gib(e.Bytes)}")) +
            $"; resident tensors {Gib(tensors)}");
        double budget = Math.Ceiling((sizes[0].Bytes + tensors) / (double)(1L << 30) * 4) / 4 + 0.25;
        bool forces = sizes[0].Bytes + sizes[1].Bytes + tensors > budget * (1L << 30);
        Console.WriteLine($"offload budget: {budget:F2} GiB ({sizes[0].Component} fits alone beside the resident tensors; with {sizes[1].Component}, " +
            $"{Gib(sizes[0].Bytes + sizes[1].Bytes + tensors)}, {(forces ? "it does not: stages load and release" : "it still fits: no release would be forced")})");
    }

    /// <summary>The first and the warm run under a GPU memory budget, engines loaded per stage from the engine cache (run
    /// once without a budget first, so the cache is built); each line says what was loaded and released. With
    /// VG_E2E_OFFLOAD_COMPARE=1, then the same request without a budget in the same process: releasing engines (which
    /// frees the device's shared activation arena, regrown at another address, CUDA graphs captured again) must not change
    /// the output.</summary>
    static int Offload(string model, string cacheDir, string size, string attention, GenerationRequest request, double gib)
    {
        var (quant, attentionFlag) = Precision(attention);
        GenerationResult warm;
        int rc;
        using (var built = Runtime.CreateEngineProvider(cacheDir, EngineName, new Progress<string>(l => Console.WriteLine("  " + l)),
                   attentionFlag, gpuMemoryBudget: (long)(gib * (1L << 30)), quantization: quant, nativeClasses: NativeClasses()))
            (rc, warm) = OffloadRuns(model, size, attention, request, gib, new Counted(built));
        if (Environment.GetEnvironmentVariable("VG_E2E_OFFLOAD_COMPARE") == "1")
        {
            Console.WriteLine("offload: reference run starts");   // run.sh ends the budgeted runs' GPU memory peak here
            using var plain = Runtime.CreateEngineProvider(cacheDir, EngineName, null, attentionFlag, quantization: quant, nativeClasses: NativeClasses());
            using var pipeline = ModelFamilies.CreateRegistry().Create(model, plain);
            var reference = Timed(pipeline, request).Result.Output.Floats;
            var (cos, max, _) = Similarity.Compare(reference, warm.Output.Floats);
            Console.WriteLine($"offload output vs the same request without a budget: " +
                (max == 0 ? "identical (every value equal)" : $"cos {cos:F6}, max abs {max:E2}"));
        }
        return rc;
    }

    static (int Rc, GenerationResult Warm) OffloadRuns(string model, string size, string attention, GenerationRequest request, double gib, Counted provider)
    {
        using var pipeline = ModelFamilies.CreateRegistry().Create(model, provider);
        int steps = request.NumInferenceSteps!.Value, firstSteps = WarmUpSteps(steps);
        var first = Timed(pipeline, request with { NumInferenceSteps = firstSteps });
        Console.WriteLine($"TABLE ours offload first run, --gpu-memory {gib:F2} GiB ({size}, {firstSteps} steps) | encode {first.Encode:F2} s | denoise {first.Denoise:F2} s | decode {first.Decode:F2} s | total {first.Total:F2} s; {provider.Take()}");
        // the first run loads engines of sizes the pipeline has not seen yet before releasing others (a moment over the
        // budget); from here on it knows them: run.sh takes the warm run's GPU memory peak from this line on
        Console.WriteLine("offload: warm run starts");
        var second = Timed(pipeline, request);
        Console.WriteLine($"TABLE ours offload warm, --gpu-memory {gib:F2} GiB ({size}, {steps} steps, {Label(attention)}) | encode {second.Encode:F2} s | denoise {second.Denoise:F2} s ({second.Denoise / steps * 1000:F0} ms/step) | decode {second.Decode:F2} s | total {second.Total:F2} s; {provider.Take()}");
        if (!provider.Released)
            Console.WriteLine($"offload: nothing was released under {gib:F2} GiB: the budget does not force per-stage loading");
        using var self = Process.GetCurrentProcess();
        Console.WriteLine($"peak host memory (RSS) {self.PeakWorkingSet64 / 1e9:F1} GB");
        return (provider.Released ? 0 : 1, second.Result);
    }

    /// <summary>Passes the budget through and records each load (with its time) and release.</summary>
    sealed class Counted(IEngineProvider inner) : IEngineProvider
    {
        readonly List<string> _loads = [], _releases = [];
        readonly Dictionary<IEngine, string> _names = [];
        double _loadSeconds;

        public bool Released { get; private set; }
        public long? GpuMemoryBudget => inner.GpuMemoryBudget;
        public IProgress<string>? Log => inner.Log;

        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            var clock = Stopwatch.StartNew();
            var engine = inner.GetEngine(modelPath, component, progress);
            lock (_loads)
            {
                _loadSeconds += clock.Elapsed.TotalSeconds;
                _loads.Add(component);
                _names[engine] = component;
            }
            return engine;
        }

        public void Release(IEngine engine)
        {
            lock (_loads)
            {
                _releases.Add(_names.Remove(engine, out var name) ? name : engine.Manifest.Component);
                Released = true;
            }
            inner.Release(engine);
        }

        /// <summary>The loads and releases since the last call, as one phrase.</summary>
        public string Take()
        {
            lock (_loads)
            {
                string text = $"loaded {(_loads.Count == 0 ? "nothing" : string.Join(", ", _loads))} ({_loadSeconds:F1} s), " +
                    $"released {(_releases.Count == 0 ? "nothing" : string.Join(", ", _releases))}";
                _loads.Clear();
                _releases.Clear();
                _loadSeconds = 0;
                return text;
            }
        }
    }

    /// <summary>The first generation's step count: like the diffusers scripts' warm-up, few steps when the timed run has
    /// many; two, since Qwen-Image's schedule (shift_terminal) refuses a single step.</summary>
    static int WarmUpSteps(int steps) => steps <= 4 ? steps : 2;

    /// <summary>The image VAE's decode (FLUX.1: AutoencoderKL's decoder; Qwen-Image: the Wan-style VAE's first-chunk decoder
    /// on one latent frame) on the device step by step: time by kernel class, the CUDA-graph replay, the slowest steps.</summary>
    static void ProfileImageDecode(IEngineProvider provider, string model, string component, string input, long[] latent)
    {
        var engine = provider.GetEngine(model, component, null);
        if (engine is not CudaEngine cuda)
        {
            Console.WriteLine($"decode profile: {component} runs on {engine.GetType().Name}, not the native engine: not profiled");
            return;
        }
        var shapes = new Dictionary<string, long[]> { [input] = latent };
        var steps = cuda.ProfileSteps(shapes);
        Console.WriteLine($"decode profile ({component}, latent [{string.Join(",", latent)}]) on the device: " +
            string.Join(", ", steps.GroupBy(x => x.Kind).Select(g => $"{g.Key} {g.Sum(x => x.Ms):F1} ms ({g.Count()})")) +
            $"; total {steps.Sum(x => x.Ms):F1} ms, graph replay {cuda.TimeForward(shapes, 1, 3, true):F1} ms; engine {cuda.DeviceBytes / 1e9:F2} GB on the GPU");
        foreach (var (name, kind, detail, ms) in steps.OrderByDescending(x => x.Ms).Take(15))
            Console.WriteLine($"    {ms,8:F2} ms  {kind,-9} {name} {detail}");
    }

    /// <summary>Each component loaded once for the whole run (the provider loads an engine on every request).</summary>
    sealed class Loaded(IEngineProvider inner) : IEngineProvider
    {
        readonly Dictionary<string, IEngine> _engines = [];

        /// <summary>The loaded engines' components and GPU bytes.</summary>
        public IEnumerable<(string Component, long Bytes)> Engines =>
            _engines.Select(kv => (kv.Key[(kv.Key.IndexOf('|') + 1)..], kv.Value.DeviceBytes));
        /// <summary>The device's resident tensors now (after the runs: mostly buffers kept for reuse, e.g. the VAE's
        /// feature caches, which a generation holds at its peak).</summary>
        public long TensorBytes => _engines.Values.Select(e => e.TensorDeviceBytes).DefaultIfEmpty(0).Max();
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress)
        {
            string key = modelPath + "|" + component;
            if (!_engines.TryGetValue(key, out var e)) _engines[key] = e = inner.GetEngine(modelPath, component, progress);
            return e;
        }
        public void Release(IEngine engine) { }
    }

    /// <summary>Transformers from one provider (another attention precision), every other component from the main one.</summary>
    sealed class TransformersFrom(IEngineProvider main, IEngineProvider transformers) : IEngineProvider
    {
        static bool IsTransformer(string c) => c is "transformer" or "transformer_2";
        public IEngine GetEngine(string modelPath, string component, IProgress<string>? progress) =>
            (IsTransformer(component) ? transformers : main).GetEngine(modelPath, component, progress);
        public void Release(IEngine engine) => engine.Dispose();
    }

    /// <summary>The VAE decode of the warm run's latent shape again, call by call (wall time of each chunk), and one later
    /// chunk's device time by kernel class and its slowest steps (events between steps, no CUDA graph).</summary>
    static HostTensor ProfileDecode(IEngineProvider provider, string model, int frames, int height, int width, string vaeDtype)
    {
        var first = new TimedEngine((IResidentEngine)provider.GetEngine(model, "vae.decoder_first", null));
        var next = new TimedEngine((IResidentEngine)provider.GetEngine(model, "vae.decoder_next", null));
        long f = (frames - 1) / 4 + 1, h = height / 8, w = width / 8;
        var rng = new Random(7);
        var z = new float[16 * f * h * w];
        for (int i = 0; i < z.Length; i++) z[i] = (float)(rng.NextDouble() * 2 - 1);
        var clock = Stopwatch.StartNew();
        var video = new WanVaeDecoder(first, next).Decode(HostTensor.Float32(z, 1, 16, f, h, w));
        double total = clock.Elapsed.TotalSeconds;
        next.Calls.Sort();
        Console.WriteLine($"decode profile, {vaeDtype} VAE: {total:F2} s for 1 + {next.Calls.Count} chunks; first chunk {first.Calls[0]:F0} ms, later chunks median {next.Calls[next.Calls.Count / 2]:F0} ms (wall, resident)");
        if (next.Inner is CudaEngine cuda && next.LastShapes is { } shapes)
        {
            var steps = cuda.ProfileSteps(shapes);
            Console.WriteLine("  one later chunk on the device: " + string.Join(", ", steps.GroupBy(x => x.Kind).Select(g => $"{g.Key} {g.Sum(x => x.Ms):F1} ms ({g.Count()})")) +
                $"; total {steps.Sum(x => x.Ms):F1} ms, graph replay {cuda.TimeForward(shapes, 1, 3, true):F1} ms");
            foreach (var (name, kind, _, ms) in steps.OrderByDescending(x => x.Ms).Take(12))
                Console.WriteLine($"    {ms,8:F2} ms  {kind,-9} {name}");
        }
        return video;
    }

    sealed class TimedEngine(IResidentEngine inner) : IResidentEngine
    {
        public IResidentEngine Inner => inner;
        public List<double> Calls { get; } = [];
        public Dictionary<string, long[]>? LastShapes { get; private set; }
        public EngineManifest Manifest => inner.Manifest;
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => inner.Run(inputs);
        public IEngineTensor Upload(HostTensor t) => inner.Upload(t);
        public ITensorArithmetic Arithmetic => inner.Arithmetic;
        public IReadOnlyDictionary<string, IEngineTensor> RunResident(IReadOnlyDictionary<string, IEngineTensor> inputs)
        {
            var c = Stopwatch.StartNew();
            var r = inner.RunResident(inputs);
            Calls.Add(c.Elapsed.TotalMilliseconds);
            LastShapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
            return r;
        }
        public void Dispose() => inner.Dispose();
    }

    sealed record Times(double Encode, double Denoise, double Decode, double Total, double FirstStepAt, GenerationResult Result);

    static Times Timed(IGenerationPipeline pipeline, GenerationRequest request)
    {
        var marks = new Dictionary<string, double>();
        double firstStep = double.NaN;
        var clock = Stopwatch.StartNew();
        var progress = new SyncProgress(p =>
        {
            marks.TryAdd(p.Stage, clock.Elapsed.TotalSeconds);
            if (p.Stage == "denoise" && p.Step == 1 && double.IsNaN(firstStep)) firstStep = clock.Elapsed.TotalSeconds;
        });
        var result = pipeline.GenerateAsync(request, progress).GetAwaiter().GetResult();
        double end = clock.Elapsed.TotalSeconds;
        _ = result.Output.Floats.Length;
        double enc = marks["denoise"] - marks["encode"], den = marks["decode"] - marks["denoise"], dec = end - marks["decode"];
        return new Times(enc, den, dec, end - marks["encode"], firstStep, result);
    }

    /// <summary>Progress reported on the calling thread (Progress&lt;T&gt; posts to the thread pool, which would skew stamps).</summary>
    sealed class SyncProgress(Action<GenerationProgress> report) : IProgress<GenerationProgress>
    {
        public void Report(GenerationProgress value) { lock (this) report(value); }
    }
}
