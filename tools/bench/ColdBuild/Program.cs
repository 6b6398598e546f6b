using System.Diagnostics;
using System.Text.Json;
using VisualGen.Bench.ExportMemory;
using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Exporter.Onnx;

// Times each phase of a native-cuda build of a UMT5-XXL-width encoder with random bf16 weights, without a GPU:
//   dotnet run -c Release --project tools/bench/ColdBuild -- <work folder> [--layers N] [--vocab V] [--copy-export] [--embed-weights]
// --copy-export: the ONNX export copies the weights (what ONNX Runtime needs) instead of referencing the checkpoint;
// --embed-weights: the entry copies them too (PlanFile's embed mode).
// writes <work>/text_encoder/{config.json, model.safetensors} (kept between runs), <work>/onnx, <work>/entry.

if (args.Length < 1 || args[0].StartsWith('-')) { Console.Error.WriteLine("usage: ColdBuild <work> [--layers N] [--vocab V]"); return 2; }
string work = Path.GetFullPath(args[0]);
int Arg(string name, int dflt) { int i = Array.IndexOf(args, name); return i >= 0 ? int.Parse(args[i + 1]) : dflt; }
int layers = Arg("--layers", 24), vocab = Arg("--vocab", 32000);
const int d = 4096, dkv = 64, heads = 64, dff = 10240, buckets = 32, maxDist = 128;
string ckptDir = Path.Combine(work, "text_encoder"), onnxDir = Path.Combine(work, "onnx"), entry = Path.Combine(work, "entry");
Directory.CreateDirectory(ckptDir);
string ckpt = Path.Combine(ckptDir, "model.safetensors");
var sw = Stopwatch.StartNew();
if (!File.Exists(ckpt))
{
    var config = new Dictionary<string, object>
    {
        ["architectures"] = new[] { "UMT5EncoderModel" }, ["d_ff"] = dff, ["d_kv"] = dkv, ["d_model"] = d, ["dense_act_fn"] = "gelu_new",
        ["feed_forward_proj"] = "gated-gelu", ["is_gated_act"] = true, ["layer_norm_epsilon"] = 1e-6, ["model_type"] = "umt5",
        ["num_heads"] = heads, ["num_layers"] = layers, ["relative_attention_max_distance"] = maxDist,
        ["relative_attention_num_buckets"] = buckets, ["vocab_size"] = vocab, ["pad_token_id"] = 0, ["eos_token_id"] = 1,
    };
    File.WriteAllText(Path.Combine(ckptDir, "config.json"), JsonSerializer.Serialize(config));
    var tensors = new List<(string, long[], long)> { ("shared.weight", [vocab, d], d) };
    for (int i = 0; i < layers; i++)
    {
        string a = $"encoder.block.{i}.layer.0", f = $"encoder.block.{i}.layer.1";
        foreach (var m in new[] { "q", "k", "v" }) tensors.Add(($"{a}.SelfAttention.{m}.weight", [heads * dkv, d], d));
        tensors.Add(($"{a}.SelfAttention.o.weight", [d, heads * dkv], heads * dkv));
        tensors.Add(($"{a}.SelfAttention.relative_attention_bias.weight", [buckets, heads], 1));
        tensors.Add(($"{a}.layer_norm.weight", [d], 0));
        tensors.Add(($"{f}.DenseReluDense.wi_0.weight", [dff, d], d));
        tensors.Add(($"{f}.DenseReluDense.wi_1.weight", [dff, d], d));
        tensors.Add(($"{f}.DenseReluDense.wo.weight", [d, dff], dff));
        tensors.Add(($"{f}.layer_norm.weight", [d], 0));
    }
    tensors.Add(("encoder.final_layer_norm.weight", [d], 0));
    long bytes = StreamingCheckpointWriter.Write(ckpt, tensors, 20261202);
    Console.WriteLine($"checkpoint: {bytes / 1e9:F2} GB in {sw.Elapsed.TotalSeconds:F1} s");
}
long ckptBytes = new FileInfo(ckpt).Length;
Console.WriteLine($"checkpoint {ckpt}: {ckptBytes / 1e9:F2} GB, {layers} layers, vocab {vocab}");
void Phase(string name, Action a)
{
    GC.Collect();
    var before = MemorySample.Read();
    var c = Stopwatch.StartNew();
    using var sampler = new MemoryPeakSampler();
    a();
    Console.WriteLine($"| {name} | {c.Elapsed.TotalSeconds:F1} s | peak anon {sampler.PeakAnon / 1e9:F2} GB | gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} |");
}
if (args.Contains("--transpose-only"))
{
    // the CPU cost of the copying export's [out, in] → [in, out] transposes, written to Stream.Null (no disk): the
    // exporter's CheckpointRawData against the element loop it had before (kept here for the comparison)
    using var w = ComponentWeights.Open(ckptDir);
    var names = w.Names.Where(n => w.Info(n).Shape.Length == 2 && n.Contains(".layer.")).ToList();
    long bytes = names.Sum(n => w.Info(n).ByteLength);
    var c1 = Stopwatch.StartNew();
    // twice: the first pass also maps the checkpoint's pages (page faults), the second and the element loop find them mapped
    for (int pass = 1; pass <= 2; pass++)
    {
        c1.Restart();
        foreach (var n in names) new VisualGen.Exporter.Graph.CheckpointRawData(w, n, true).WriteTo(Stream.Null);
        Console.WriteLine($"| transpose (blocked, CheckpointRawData), pass {pass} | {bytes / 1e9:F2} GB | {c1.Elapsed.TotalSeconds:F1} s |");
    }
    c1.Restart();
    foreach (var n in names)
    {
        var info = w.Info(n);
        var src = w.GetBytes(n);
        long rows = info.Shape[0], cols = info.Shape[1];
        int es = 2, band = (int)Math.Clamp((1 << 20) / Math.Max(rows, 1), 1, Math.Max(cols, 1));
        var outBuf = new byte[band * rows * es];
        for (long c0 = 0; c0 < cols; c0 += band)
        {
            int nc = (int)Math.Min(band, cols - c0);
            for (long r = 0; r < rows; r++)
            {
                var row = src.Slice((int)((r * cols + c0) * es), nc * es);
                for (int j = 0; j < nc; j++) row.Slice(j * es, es).CopyTo(outBuf.AsSpan((int)((j * rows + r) * es), es));
            }
            Stream.Null.Write(outBuf.AsSpan(0, (int)(nc * rows * es)));
        }
    }
    Console.WriteLine($"| transpose (element loop, before) | {bytes / 1e9:F2} GB | {c1.Elapsed.TotalSeconds:F1} s |");
    return 0;
}
if (Directory.Exists(onnxDir)) Directory.Delete(onnxDir, true);
if (Directory.Exists(entry)) Directory.Delete(entry, true);
Directory.CreateDirectory(onnxDir); Directory.CreateDirectory(entry);
string onnx = Path.Combine(onnxDir, "model.onnx");
var total = Stopwatch.StartNew();
using (var weights = ComponentWeights.Open(ckptDir))
{
    VisualGen.Exporter.Graph.Graph graph = null!;
    Phase("trace", () => graph = T5Encoder.Trace(ckptDir, weights));
    bool copy = args.Contains("--copy-export");
    Phase($"OnnxWriter.Write ({(copy ? "weights copied" : "checkpoint referenced")})", () => new OnnxWriter { ReferenceCheckpoint = !copy }.Write(graph, onnx));
}
OpGraph g = null!;
Phase("OnnxGraphReader.Read", () => g = OnnxGraphReader.Read(onnx));
Phase("Fusion.Apply + Validate", () => { Fusion.Apply(g); OpRegistry.Validate(g, onnx); });
bool embed = args.Contains("--embed-weights");
PlanFile.WriteResult written = default;
Phase($"PlanFile.Write{(embed ? " (embed)" : "")}", () => written = PlanFile.Write(g, entry, new Dictionary<string, byte[]>(), embed));
Console.WriteLine($"build total {total.Elapsed.TotalSeconds:F1} s");
long DirBytes(string dir) => Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
Console.WriteLine($"onnx folder {DirBytes(onnxDir) / 1e9:F2} GB; entry {DirBytes(entry) / 1e9:F3} GB (weights.bin {written.EmbeddedBytes / 1e9:F3} GB, referenced {written.ReferencedBytes / 1e9:F3} GB in {written.ReferencedFiles} file(s))");
// what CudaEngine's constructor does per device weight (EngineResources.UploadWeights): hand its bytes to a copy;
// here the copy goes into one reused 512 MB host buffer in place of the device arena
Phase("PlanFile.Read + device-weight reads", () =>
{
    var (g2, _) = PlanFile.Read(entry);
    long sum = 0; int n = 0;
    var arena = GC.AllocateUninitializedArray<byte>(1 << 29, pinned: true);
    foreach (var c in g2.Constants.Values.Where(c => EncoderFusion.IsDeviceWeight(c.Name)))
    {
        c.WithBytes(b => { for (int o = 0; o < b.Length; o += arena.Length) b.Slice(o, Math.Min(arena.Length, b.Length - o)).CopyTo(arena); sum += b.Length; });
        c.Release(); n++;
    }
    Console.WriteLine($"  {n} device weights, {sum / 1e9:F2} GB");
});
return 0;
