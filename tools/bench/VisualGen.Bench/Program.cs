// Benchmark and check driver for the native CUDA engine (run on the GPU machine by tools/device/run.sh).
//   visualgen-bench conformance <family dir>             transformer vs the diffusers golden (bf16 thresholds 64 and 1)
//   visualgen-bench wan <model dir> <io dir> <cache dir>  export + build (cache) + run io/inputs_*.safetensors + bench
//   visualgen-bench load <model dir> <cache dir>         second process: cached engine load time
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
    "wan" => Wan(args[1], args[2], args[3]),
    "load" => Load(args[1], args[2]),
    _ => Usage(),
} : Usage();

static int Usage() { Console.Error.WriteLine("usage: visualgen-bench conformance DIR | wan MODEL IO CACHE | load MODEL CACHE"); return 2; }

static (double Cos, double MaxAbs, double RelL2) Compare(float[] a, float[] b)
{
    double dot = 0, na = 0, nb = 0, max = 0, d2 = 0;
    for (int i = 0; i < a.Length; i++)
    {
        dot += (double)a[i] * b[i]; na += (double)a[i] * a[i]; nb += (double)b[i] * b[i];
        double d = Math.Abs((double)a[i] - b[i]); max = Math.Max(max, d); d2 += d * d;
        if (float.IsNaN(b[i])) return (double.NaN, double.NaN, double.NaN);
    }
    return (dot / Math.Sqrt(na * nb), max, Math.Sqrt(d2 / na));
}

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
            var (cos, max, rel) = Compare(expected.Floats, outT.Floats);
            bool ok = cos >= 0.999 && outT.Shape.SequenceEqual(expected.Shape);
            if (!ok) status = 1;
            Console.WriteLine($"conformance wan21_t2v transformer (bf16 from {minRows} rows, cuda graphs {graphs}): cosine {cos:F6}, rel L2 {rel:E2}, max abs {max:E2} -> {(ok ? "PASS" : "FAIL")}");
        }
        Console.WriteLine("  plan: " + engine.Describe(inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape)));
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

static EngineProvider Provider(string cacheDir, Dictionary<string, HostTensor> opt) =>
    new(new EngineCache(cacheDir), new CudaBackend(), ComponentExporterRegistry.CreateDefault(), new EngineBuildOptions
    {
        Precision = "bf16",
        Profiles = opt.ToDictionary(kv => kv.Key, kv => new ShapeProfile(kv.Value.Shape, kv.Value.Shape, kv.Value.Shape)),
    });

static int Wan(string model, string io, string cacheDir)
{
    var in480 = ReadInputs(Path.Combine(io, "inputs_480.safetensors"));
    var clock = Stopwatch.StartNew();
    using var provider = Provider(cacheDir, in480);
    var (eng, report) = provider.Prepare(model, "transformer", new Progress<string>(l => Console.WriteLine("  " + l)));
    var engine = (CudaEngine)eng;
    Console.WriteLine($"export+build+load: {clock.Elapsed.TotalSeconds:F1} s (cache hit {report.Hit}, {report.Nodes} graph nodes; weights uploaded in {engine.LoadSeconds:F1} s)");
    if (provider.Backend is CudaBackend cb) foreach (var l in cb.BuildLog) Console.WriteLine("  " + l);
    int status = 0;
    var table = new List<string>();
    foreach (var res in new[] { "480", "720" })
    {
        string path = Path.Combine(io, $"inputs_{res}.safetensors");
        if (!File.Exists(path)) continue;
        var inputs = res == "480" ? in480 : ReadInputs(path);
        var shapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        // Before: attention on cuDNN's own first choice (what phase 2 ran), same process and machine.
        engine.ReleasePlans();
        engine.TuneAttention = false;
        int logAt = engine.AttentionLog.Count;
        engine.Run(inputs);
        double untunedMs = engine.TimeForward(shapes, 1, 3, true);
        var untunedAttn = AttentionByPlan(engine.ProfileSteps(shapes));
        Console.WriteLine($"{res}p forward, attention on cuDNN's own choice: {untunedMs:F1} ms with CUDA graphs; attention {untunedAttn}");
        foreach (var l in engine.AttentionLog.Skip(logAt)) Console.WriteLine("  attention plan " + l);
        engine.ReleasePlans();
        engine.TuneAttention = true;
        logAt = engine.AttentionLog.Count;
        var t0 = Stopwatch.StartNew();
        var outT = engine.Run(inputs)["sample"];
        Console.WriteLine($"{res}p first run (plan incl. attention tuning + capture): {t0.Elapsed.TotalSeconds:F2} s; {engine.Describe(shapes)}");
        foreach (var l in engine.AttentionLog.Skip(logAt)) Console.WriteLine("  attention plan (tuned on random data) " + l);
        SafeTensorsWriter.Write(Path.Combine(io, $"ours_{res}.safetensors"), [outT.ToTensorData("sample")]);
        double graphMs = engine.TimeForward(shapes, 2, 5, true);
        double eagerMs = engine.TimeForward(shapes, 1, 3, false);
        var steps = engine.ProfileSteps(shapes);
        var classes = Enum.GetValues<KernelClass>().ToDictionary(k => k, k => steps.Where(x => x.Kind == k).Sum(x => x.Ms));
        var (gf, af) = engine.Flops(shapes);
        double total = classes.Values.Sum();
        Console.WriteLine($"{res}p forward: {graphMs:F1} ms with CUDA graphs, {eagerMs:F1} ms without");
        foreach (var (k, ms) in classes)
        {
            string rate = k == KernelClass.Gemm ? $", {gf / ms / 1e9:F0} TFLOP/s" : k == KernelClass.Attention ? $", {af / ms / 1e9:F0} TFLOP/s" : "";
            Console.WriteLine($"  {k,-10} {ms,8:F1} ms {100 * ms / total,5:F1}%{rate}");
        }
        Console.WriteLine($"  attention by plan: {AttentionByPlan(steps)}");
        // Diagnosis: the same candidates timed in place on the forward's real activations (the last attention of each plan).
        foreach (var l in engine.RetuneAttentionInPlace(shapes)) Console.WriteLine("  attention plan (re-timed on real activations) " + l);
        double retunedMs = engine.TimeForward(shapes, 1, 3, true);
        Console.WriteLine($"{res}p forward after the in-place re-tune: {retunedMs:F1} ms with CUDA graphs");
        table.Add($"ours {res}p, attention on cuDNN's own choice | {untunedMs:F1} | | attention {untunedAttn}");
        table.Add($"ours {res}p, attention re-tuned on real activations | {retunedMs:F1} | | ");
        table.Add($"ours {res}p | {graphMs:F1} | {eagerMs:F1} | gemm {classes[KernelClass.Gemm]:F0} ms ({gf / classes[KernelClass.Gemm] / 1e9:F0} TFLOP/s), attention {classes[KernelClass.Attention]:F0} ms ({af / classes[KernelClass.Attention] / 1e9:F0} TFLOP/s), norm+rope {classes[KernelClass.NormRope]:F0} ms, other {classes[KernelClass.Other]:F0} ms");
    }
    File.WriteAllLines(Path.Combine(io, "ours_table.txt"), table);
    foreach (var l in table) Console.WriteLine("TABLE " + l);
    return status;
}

static string AttentionByPlan(List<(string Name, KernelClass Kind, string? Detail, double Ms)> steps) =>
    string.Join(", ", steps.Where(x => x.Kind == KernelClass.Attention).GroupBy(x => x.Detail ?? "?")
        .Select(g => $"{g.Key}: {g.Sum(x => x.Ms):F1} ms / {g.Count()} = {g.Average(x => x.Ms):F3} ms each"));

static int Load(string model, string cacheDir)
{
    var in480 = ReadInputs(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(model))!, "io", "inputs_480.safetensors"));
    var clock = Stopwatch.StartNew();
    using var provider = Provider(cacheDir, in480);
    var (eng, report) = provider.Prepare(model, "transformer", null);
    var engine = (CudaEngine)eng;
    Console.WriteLine($"second process: cache hit {report.Hit}; Prepare (trace for the key + checksum + load) {clock.Elapsed.TotalSeconds:F1} s, of which weight read+upload {engine.LoadSeconds:F1} s ({engine.WeightBytes / 1e9:F2} GB)");
    var t = Stopwatch.StartNew();
    engine.Run(in480);
    Console.WriteLine($"second process: first 480p run (plan + capture + forward) {t.Elapsed.TotalSeconds:F1} s");
    return report.Hit ? 0 : 1;
}
