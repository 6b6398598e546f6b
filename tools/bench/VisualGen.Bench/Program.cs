// Benchmark and check driver for the native CUDA engine (run on the GPU machine by tools/device/run.sh).
//   visualgen-bench conformance <family dir>             transformer vs the diffusers golden (bf16 thresholds 64 and 1)
//   visualgen-bench wan <model dir> <io dir> <cache dir>  export + build (cache) + run io/inputs_*.safetensors + bench,
//                                                         bf16 attention and FP8 self-attention
//   visualgen-bench dit <model dir> <io dir> <cache dir> <name>  an image DiT (FLUX / Qwen-Image, reduced depth) at
//                                                         1024x1024 on io/<name>_inputs.safetensors (tools/bench/dit_peer.py):
//                                                         bf16 attention and FP8 self-attention, GEMMs tuned on the real inputs
//   visualgen-bench wan-quant <model dir> <io dir> <cache dir> [LINEARS/ATTENTION,...]  the 1.3B forward at 480p with
//                                                         quantized linears and attention vs bf16 (WanQuant.cs)
//   visualgen-bench load <model dir> <cache dir>         second process: cached engine load time
//   visualgen-bench cli <visualgen arguments>            the command line (src/VisualGen.Cli) in this binary
//   visualgen-bench e2e <model> <cache> H W FRAMES STEPS [bf16,fp8]  Wan generation end to end, first and warm run by stage
//   visualgen-bench e2e-flux <model> <cache> H W STEPS [bf16,fp8]     FLUX.1 generation end to end (guidance 3.5), the same;
//   visualgen-bench e2e-qwen <model> <cache> H W STEPS [bf16,fp8] [GPU_MEMORY_GIB]  Qwen-Image end to end (true CFG 4),
//                                                         the same; with GPU_MEMORY_GIB under that budget (offload)
//                                                         all on native-cuda unless VG_E2E_ENGINE names another engine
//   visualgen-bench components <cache dir> <fixture>...  every natively run encoder/VAE/transformer vs its diffusers golden
//   visualgen-bench awkward <workdir> [--engines A,B]    Wan pipeline on checkpoints with awkward sizes, ort-cpu vs native-cuda
//   visualgen-bench host-build <workdir>                 the host side of an engine build (FP8 weight quantization, widening,
//                                                         E4M3 decode, file digests, weights.bin), against the former ways (no GPU)
using System.Diagnostics;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;

return args.Length > 0 ? args[0] switch
{
    "conformance" => Conformance(args[1]),
    // the CLI itself (the same CliApp as src/VisualGen.Cli), so one carried publish runs checks and generations
    "cli" => VisualGen.Cli.CliApp.Run(args[1..]),
    "e2e" => EndToEnd.Wan(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]), int.Parse(args[6]), args.Length > 7 ? args[7] : "bf16",
        args.Length > 8 ? double.Parse(args[8], System.Globalization.CultureInfo.InvariantCulture) : null),
    "e2e-flux" => EndToEnd.Flux(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]), args.Length > 6 ? args[6] : "bf16"),
    "e2e-qwen" => EndToEnd.Qwen(args[1], args[2], int.Parse(args[3]), int.Parse(args[4]), int.Parse(args[5]), args.Length > 6 ? args[6] : "bf16",
        args.Length > 7 ? double.Parse(args[7], System.Globalization.CultureInfo.InvariantCulture) : null),
    "components" => args.Skip(2).Select(f => ComponentCheck.Run(f, args[1])).Max(),
    "awkward" => AwkwardCheck.Run(args[1..]),
    "host-build" => HostBuild.Run(args[1]),
    "wan" => Wan(args[1], args[2], args[3]),
    "wan-quant" => WanQuant.Run(args[1], args[2], args[3], args.Length > 4 ? args[4] : "bf16/bf16,bf16/fp8,fp8/bf16,fp8/fp8,nvfp4/bf16"),
    "load" => Load(args[1], args[2]),
    "dit" => ImageDit(args[1], args[2], args[3], args[4]),
    _ => Usage(),
} : Usage();

static int Usage() { Console.Error.WriteLine("usage: visualgen-bench conformance DIR | components CACHE FIXTURE... | awkward WORKDIR [--engines A,B] | host-build WORKDIR | e2e MODEL CACHE H W FRAMES STEPS [ATTN] [GPU_MEMORY_GIB] | e2e-flux MODEL CACHE H W STEPS [ATTN] | e2e-qwen MODEL CACHE H W STEPS [ATTN] [GPU_MEMORY_GIB] | wan MODEL IO CACHE | wan-quant MODEL IO CACHE [LINEARS/ATTENTION,...] | dit MODEL IO CACHE NAME | load MODEL CACHE"); return 2; }

static int Conformance(string family)
{
    string dir = Path.Combine(family, "checkpoint", "transformer");
    using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
    var graph = WanTransformer3D.Trace(dir, weights);
    string tmp = Path.Combine(Path.GetTempPath(), "vg-conf-" + Environment.ProcessId);
    Directory.CreateDirectory(tmp);
    new OnnxWriter().Write(graph, Path.Combine(tmp, "model.onnx"));
    using var golden = SafeTensorsFile.Open(Path.Combine(family, "golden.safetensors"));
    var inputs = new Dictionary<string, HostTensor>
    {
        ["hidden_states"] = HostTensor.FromSource(golden, "transformer.in.hidden_states"),
        ["timestep"] = HostTensor.FromSource(golden, "transformer.in.timestep"),
        ["encoder_hidden_states"] = HostTensor.FromSource(golden, "transformer.in.encoder_hidden_states"),
    };
    var expected = HostTensor.FromSource(golden, "transformer.out");
    int status = 0;
    foreach (long minRows in new long[] { 64, 1 })
    {
        string entry = Path.Combine(tmp, $"entry{minRows}");
        Directory.CreateDirectory(entry);
        var backend = new CudaBackend { Bf16MinRows = minRows };
        backend.Build(Path.Combine(tmp, "model.onnx"), entry, new EngineBuildOptions { Precision = "bf16" });
        foreach (var l in backend.BuildLog) Console.WriteLine("  " + l);
        using var engine = backend.LoadEngine(entry, Manifest("transformer"));
        foreach (bool graphs in new[] { false, true })
        {
            engine.UseCudaGraphs = graphs;
            var outT = engine.Run(inputs)["sample"];
            var (cos, max, rel) = Similarity.Compare(expected.Floats, outT.Floats);
            bool ok = cos >= 0.999 && outT.Shape.SequenceEqual(expected.Shape);
            if (!ok) status = 1;
            Console.WriteLine($"conformance wan21_t2v transformer (bf16 from {minRows} rows, cuda graphs {graphs}): cosine {cos:F6}, rel L2 {rel:E2}, max abs {max:E2} -> {(ok ? "PASS" : "FAIL")}");
        }
        Console.WriteLine("  plan: " + engine.Describe(inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape)));
        if (minRows != 64) continue;
        using var fp8 = new CudaBackend { Attention = AttentionPrecision.Fp8 }.LoadEngine(entry, Manifest("transformer"));
        var outFp8 = fp8.Run(inputs)["sample"];
        var (c8, m8, r8) = Similarity.Compare(expected.Floats, outFp8.Floats);
        bool ok8 = c8 >= 0.999;
        if (!ok8) status = 1;
        Console.WriteLine($"conformance wan21_t2v transformer (bf16, FP8 self-attention, cuda graphs): cosine {c8:F6}, rel L2 {r8:E2}, max abs {m8:E2} -> {(ok8 ? "PASS" : "FAIL")}");
    }
    return status;
}

static EngineManifest Manifest(string component) => new()
{
    Key = "direct", Component = component, EntryFile = "plan.json", Files = new Dictionary<string, string>(), Inputs = [], Outputs = [],
    KeyParts = new EngineKeyParts { GraphHash = "", WeightFingerprint = "", Backend = "native-cuda", BackendVersion = "", Device = "", Precision = "bf16", Profiles = "", Opset = 23, ExporterVersion = "" },
};

static Dictionary<string, HostTensor> ReadInputs(string path)
{
    using var f = SafeTensorsFile.Open(path);
    return new[] { "hidden_states", "timestep", "encoder_hidden_states" }.ToDictionary(n => n, n => HostTensor.FromSource(f, n));
}

// The 1.3B forward at 480p and 720p with bf16 attention and with FP8 self-attention: two engines loaded from the same
// cache entry (the second Prepare is a hit), measured alternately in one process.
static int Wan(string model, string io, string cacheDir)
{
    var in480 = ReadInputs(Path.Combine(io, "inputs_480.safetensors"));
    using var pair = EnginePair.Prepare(model, cacheDir, in480, "");
    var (bf16, fp8) = (pair.Bf16, pair.Fp8);
    var table = new List<string>();
    foreach (var res in new[] { "480", "720" })
    {
        string path = Path.Combine(io, $"inputs_{res}.safetensors");
        if (!File.Exists(path)) continue;
        var inputs = res == "480" ? in480 : ReadInputs(path);
        var shapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        foreach (var engine in pair.Both)
        {
            string label = Label(engine);
            var t0 = Stopwatch.StartNew();
            var outT = engine.Run(inputs)["sample"];
            Console.WriteLine($"{res}p {label}: first run (plan + capture) {t0.Elapsed.TotalSeconds:F2} s; {engine.Describe(shapes)}");
            SafeTensorsWriter.Write(Path.Combine(io, $"ours{Tag(engine)}_{res}.safetensors"), [outT.ToTensorData("sample")]);
        }
        var graphMs = TimeAlternately(pair.Both, shapes, 1, 3);
        double eagerMs = bf16.TimeForward(shapes, 1, 3, false);
        foreach (var engine in pair.Both)
        {
            string label = Label(engine);
            double ms = graphMs[engine].Order().ElementAt(1);
            var (steps, classes, gf, af) = Profile(engine, shapes);
            double total = classes.Values.Sum();
            Console.WriteLine($"{res}p forward, {label}: {ms:F1} ms with CUDA graphs (rounds: {string.Join(", ", graphMs[engine].Select(x => x.ToString("F1")))})" +
                              (engine == bf16 ? $", {eagerMs:F1} ms without" : ""));
            foreach (var (k, kms) in classes)
            {
                string rate = k == KernelClass.Gemm ? $", {gf / kms / 1e9:F0} TFLOP/s" : k == KernelClass.Attention ? $", {af / kms / 1e9:F0} TFLOP/s" : "";
                Console.WriteLine($"  {k,-10} {kms,8:F1} ms {100 * kms / total,5:F1}%{rate}");
            }
            Console.WriteLine($"  attention by plan: {AttentionByPlan(steps)}");
            table.Add($"ours {res}p, {label} | {ms:F1} | {(engine == bf16 ? eagerMs.ToString("F1") : "")} | gemm {classes[KernelClass.Gemm]:F0} ms ({gf / classes[KernelClass.Gemm] / 1e9:F0} TFLOP/s), attention {classes[KernelClass.Attention]:F0} ms ({af / classes[KernelClass.Attention] / 1e9:F0} TFLOP/s incl. quantize), norm+rope {classes[KernelClass.NormRope]:F0} ms, other {classes[KernelClass.Other]:F0} ms");
        }
    }
    File.WriteAllLines(Path.Combine(io, "ours_table.txt"), table);
    foreach (var l in table) Console.WriteLine("TABLE " + l);
    return 0;
}

// An image DiT (FLUX, Qwen-Image) at 1024x1024: its position inputs are plan-time inputs, so GEMM tuning at build is
// skipped (profiles carry shapes only) and done here on the real inputs instead, for both engines.
static int ImageDit(string model, string io, string cacheDir, string name)
{
    Dictionary<string, HostTensor> inputs;
    using (var f = SafeTensorsFile.Open(Path.Combine(io, $"{name}_inputs.safetensors")))
        inputs = f.Names.ToDictionary(n => n, n => HostTensor.FromSource(f, n));
    var shapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
    using var pair = EnginePair.Prepare(model, cacheDir, inputs, name + " ");
    var engines = pair.Both;
    foreach (var engine in engines)
    {
        string tag = Tag(engine);
        var t0 = Stopwatch.StartNew();
        foreach (var l in engine.Tune(shapes, inputs)) Console.WriteLine("  tuned " + l);
        var outT = engine.Run(inputs)["sample"];
        Console.WriteLine($"{name} {engine.Attention}: tune + plan + capture {t0.Elapsed.TotalSeconds:F1} s; {engine.Describe(shapes)}");
        SafeTensorsWriter.Write(Path.Combine(io, $"{name}_ours{tag}.safetensors"), [outT.ToTensorData("sample")]);
    }
    var ms = TimeAlternately(engines, shapes, 2, 5);
    var table = new List<string>();
    foreach (var e in engines)
    {
        string label = Label(e);
        double med = ms[e].Order().ElementAt(1);
        var (steps, classes, gf, af) = Profile(e, shapes);
        Console.WriteLine($"{name} 1024x1024, {label}: {med:F1} ms with CUDA graphs (rounds: {string.Join(", ", ms[e].Select(x => x.ToString("F1")))}); " +
                          string.Join(", ", classes.Select(kv => $"{kv.Key} {kv.Value:F1} ms")));
        // where the glue goes: steps outside GEMM/attention grouped by op (the node name's last segment without its number)
        var glue = steps.Where(x => x.Kind is KernelClass.Other or KernelClass.NormRope)
            .GroupBy(x => System.Text.RegularExpressions.Regex.Replace(x.Name[(x.Name.LastIndexOf('/') + 1)..], @"_\d+$", ""))
            .Select(g => (Op: g.Key, Ms: g.Sum(x => x.Ms), N: g.Count())).OrderByDescending(g => g.Ms).Take(12);
        Console.WriteLine("  glue by op: " + string.Join(", ", glue.Select(g => $"{g.Op} {g.Ms:F2} ms/{g.N}")));
        table.Add($"ours {name} 1024x1024, {label} | {med:F1} | | gemm {classes[KernelClass.Gemm]:F1} ms ({gf / classes[KernelClass.Gemm] / 1e9:F0} TFLOP/s), attention {classes[KernelClass.Attention]:F1} ms ({af / classes[KernelClass.Attention] / 1e9:F0} TFLOP/s), norm+rope {classes[KernelClass.NormRope]:F1} ms, other {classes[KernelClass.Other]:F1} ms");
    }
    File.WriteAllLines(Path.Combine(io, $"{name}_ours_table.txt"), table);
    foreach (var l in table) Console.WriteLine("TABLE " + l);
    return 0;
}

static string Label(CudaEngine e) => e.Attention switch
{
    AttentionPrecision.Fp8 => "FP8 self-attention",
    AttentionPrecision.Sage => "Sage self-attention",
    _ => "bf16 attention",
};
static string Tag(CudaEngine e) => e.Attention switch { AttentionPrecision.Fp8 => "_fp8", AttentionPrecision.Sage => "_sage", _ => "" };

// CUDA-graph forward times of each engine, `rounds` rounds alternating between them so that both see the same thermal
// and power state (each time: `warmup` runs, then the median of `iterations`).
static Dictionary<CudaEngine, List<double>> TimeAlternately(CudaEngine[] engines, Dictionary<string, long[]> shapes, int warmup, int iterations, int rounds = 3)
{
    var ms = engines.ToDictionary(e => e, _ => new List<double>());
    for (int round = 0; round < rounds; round++)
        foreach (var e in engines) ms[e].Add(e.TimeForward(shapes, warmup, iterations, true));
    return ms;
}

// One forward step by step: the steps, milliseconds per kernel class, and the GEMM and attention FLOPs.
static (List<(string Name, KernelClass Kind, string? Detail, double Ms)> Steps, Dictionary<KernelClass, double> Classes, double GemmFlops, double AttentionFlops)
    Profile(CudaEngine engine, Dictionary<string, long[]> shapes)
{
    var steps = engine.ProfileSteps(shapes);
    var classes = Enum.GetValues<KernelClass>().ToDictionary(k => k, k => steps.Where(x => x.Kind == k).Sum(x => x.Ms));
    var (gf, af) = engine.Flops(shapes);
    return (steps, classes, gf, af);
}

static string AttentionByPlan(List<(string Name, KernelClass Kind, string? Detail, double Ms)> steps) =>
    string.Join(", ", steps.Where(x => x.Kind == KernelClass.Attention).GroupBy(x => x.Detail ?? "?")
        .Select(g => $"{g.Key}: {g.Sum(x => x.Ms):F1} ms / {g.Count()} = {g.Average(x => x.Ms):F3} ms each"));

static int Load(string model, string cacheDir)
{
    var in480 = ReadInputs(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "io", "inputs_480.safetensors"));
    var clock = Stopwatch.StartNew();
    using var provider = EnginePair.Provider(cacheDir, in480);
    var (eng, report) = provider.Prepare(model, "transformer", null);
    var engine = (CudaEngine)eng;
    Console.WriteLine($"second process: cache hit {report.Hit}; Prepare (trace for the key + checksum + load) {clock.Elapsed.TotalSeconds:F1} s, of which weight read+upload {engine.LoadSeconds:F1} s ({engine.WeightBytes / 1e9:F2} GB)");
    var t = Stopwatch.StartNew();
    engine.Run(in480);
    Console.WriteLine($"second process: first 480p run (plan + capture + forward) {t.Elapsed.TotalSeconds:F1} s");
    return report.Hit ? 0 : 1;
}

// The transformer of `model` loaded twice from one cache entry: bf16 attention (built on a miss) and FP8 self-attention
// (the second Prepare is a hit). The providers own the engines.
sealed class EnginePair : IDisposable
{
    readonly EngineProvider _bf16, _fp8;
    public CudaEngine Bf16 { get; }
    public CudaEngine Fp8 { get; }
    public CudaEngine[] Both => [Bf16, Fp8];

    EnginePair(EngineProvider bf16Provider, CudaEngine bf16, EngineProvider fp8Provider, CudaEngine fp8) =>
        (_bf16, Bf16, _fp8, Fp8) = (bf16Provider, bf16, fp8Provider, fp8);

    // An engine provider over the cache folder, built with each input's own shape as its profile (GEMMs tuned there).
    public static EngineProvider Provider(string cacheDir, Dictionary<string, HostTensor> opt, AttentionPrecision attention = AttentionPrecision.Bf16) =>
        new(new EngineCache(cacheDir), new CudaBackend { Attention = attention }, ComponentExporterRegistry.CreateDefault(), new EngineBuildOptions
        {
            Precision = "bf16",
            Profiles = opt.ToDictionary(kv => kv.Key, kv => new ShapeProfile(kv.Value.Shape, kv.Value.Shape, kv.Value.Shape)),
        });

    public static EnginePair Prepare(string model, string cacheDir, Dictionary<string, HostTensor> opt, string what)
    {
        var clock = Stopwatch.StartNew();
        var provider = Provider(cacheDir, opt);
        var (eng, report) = provider.Prepare(model, "transformer", new Progress<string>(l => Console.WriteLine("  " + l)));
        var bf16 = (CudaEngine)eng;
        Console.WriteLine($"{what}export+build+load: {clock.Elapsed.TotalSeconds:F1} s (cache hit {report.Hit}, {report.Nodes} graph nodes; weights uploaded in {bf16.LoadSeconds:F1} s)");
        if (provider.Backend is CudaBackend cb) foreach (var l in cb.BuildLog) Console.WriteLine("  " + l);
        var providerFp8 = Provider(cacheDir, opt, AttentionPrecision.Fp8);
        var (engFp8, reportFp8) = providerFp8.Prepare(model, "transformer", null);
        Console.WriteLine($"{what}FP8-attention engine from the same entry: cache hit {reportFp8.Hit}");
        return new EnginePair(provider, bf16, providerFp8, (CudaEngine)engFp8);
    }

    public void Dispose()
    {
        _fp8.Dispose();
        _bf16.Dispose();
    }
}
