using System.Runtime.InteropServices;
using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Exporter.Commands;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>native-cuda entries reference the checkpoint's tensors instead of copying them: the export points its
/// external data into the safetensors file (no weight bytes written), the plan records checkpoint ranges (a bf16
/// nn.Linear weight [out, in] is already the packed bf16 [N, K]), a load whose checkpoint changed fails naming the file,
/// and the embed mode copies everything, with the same bytes either way.</summary>
public class CheckpointReferenceTests
{
    /// <summary>A small UMT5 encoder with random bf16 weights (the real model's structure at toy widths).</summary>
    internal static string TinyUmt5(string? into = null)
    {
        string dir = into ?? Fixtures.TempDir("ckref-umt5");
        Directory.CreateDirectory(dir);
        const int d = 32, heads = 4, dkv = 8, dff = 64, layers = 2, vocab = 64, buckets = 8;
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["architectures"] = new[] { "UMT5EncoderModel" }, ["d_ff"] = dff, ["d_kv"] = dkv, ["d_model"] = d, ["dense_act_fn"] = "gelu_new",
            ["feed_forward_proj"] = "gated-gelu", ["is_gated_act"] = true, ["layer_norm_epsilon"] = 1e-6, ["model_type"] = "umt5",
            ["num_heads"] = heads, ["num_layers"] = layers, ["relative_attention_max_distance"] = 16,
            ["relative_attention_num_buckets"] = buckets, ["vocab_size"] = vocab, ["pad_token_id"] = 0, ["eos_token_id"] = 1,
        }));
        var rng = new Random(7);
        TensorData T(string name, long[] shape, float center = 0, float spread = 0.2f)
        {
            var bits = new ushort[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < bits.Length; i++) bits[i] = ElementConvert.FloatToBFloat16(center + spread * (float)(rng.NextDouble() * 2 - 1));
            return new TensorData(name, TensorDType.BF16, shape, MemoryMarshal.AsBytes(bits.AsSpan()).ToArray());
        }
        var tensors = new List<TensorData> { T("shared.weight", [vocab, d]) };
        for (int i = 0; i < layers; i++)
        {
            string a = $"encoder.block.{i}.layer.0", f = $"encoder.block.{i}.layer.1";
            foreach (var m in new[] { "q", "k", "v" }) tensors.Add(T($"{a}.SelfAttention.{m}.weight", [heads * dkv, d]));
            tensors.Add(T($"{a}.SelfAttention.o.weight", [d, heads * dkv]));
            tensors.Add(T($"{a}.SelfAttention.relative_attention_bias.weight", [buckets, heads]));
            tensors.Add(T($"{a}.layer_norm.weight", [d], 1, 0.1f));
            tensors.Add(T($"{f}.DenseReluDense.wi_0.weight", [dff, d]));
            tensors.Add(T($"{f}.DenseReluDense.wi_1.weight", [dff, d]));
            tensors.Add(T($"{f}.DenseReluDense.wo.weight", [d, dff]));
            tensors.Add(T($"{f}.layer_norm.weight", [d], 1, 0.1f));
        }
        tensors.Add(T("encoder.final_layer_norm.weight", [d], 1, 0.1f));
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), tensors);
        return dir;
    }

    /// <summary>The UMT5 graph written twice: weights copied (external data beside the model) and checkpoint referenced.</summary>
    static (string Ckpt, string Copied, string Referenced) Export()
    {
        string ckpt = TinyUmt5();
        string copied = Path.Combine(Fixtures.TempDir("ckref-copy"), "model.onnx"), referenced = Path.Combine(Fixtures.TempDir("ckref-ref"), "model.onnx");
        using var weights = ComponentWeights.Open(ckpt);
        var graph = T5Encoder.Trace(ckpt, weights);
        new OnnxWriter { ExternalDataThreshold = 0, InlineLimit = 0 }.Write(graph, copied);
        new OnnxWriter { ExternalDataThreshold = 0, InlineLimit = 0, ReferenceCheckpoint = true }.Write(graph, referenced);
        return (ckpt, copied, referenced);
    }

    static Dictionary<string, byte[]> DeviceWeights(OpGraph g) =>
        g.Constants.Values.Where(c => EncoderFusion.IsDeviceWeight(c.Name)).ToDictionary(c => c.Name, c => c.Bytes.ToArray());

    static long WeightsBin(string entry) => new FileInfo(Path.Combine(entry, PlanFile.WeightsName)).Length;

    [Fact]
    public void Referencing_export_writes_no_weight_bytes_and_compiles_to_the_same_packed_weights()
    {
        var (ckpt, copied, referenced) = Export();
        long ckptBytes = new FileInfo(Path.Combine(ckpt, "model.safetensors")).Length;
        Assert.True(new FileInfo(copied + ".data").Length >= ckptBytes * 0.9, "the copying export holds the weights");
        // what is left beside the referencing graph: the exporter's own small tables only
        long left = File.Exists(referenced + ".data") ? new FileInfo(referenced + ".data").Length : 0;
        Assert.True(left < ckptBytes / 20, $"the referencing export wrote {left} bytes beside the model (checkpoint {ckptBytes})");

        var (gc, rc) = CudaBackend.Compile(copied);
        var (gr, rr) = CudaBackend.Compile(referenced);
        Assert.Equal(rc.ToString(), rr.ToString());
        Assert.Equal(gc.Nodes.Select(n => n.Op), gr.Nodes.Select(n => n.Op));
        var a = DeviceWeights(gc);
        var b = DeviceWeights(gr);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        Assert.NotEmpty(a);
        foreach (var (name, bytes) in a) Assert.True(bytes.AsSpan().SequenceEqual(b[name]), $"packed weight '{name}' differs");
        // the packed q projection is the checkpoint's [out, in] tensor as stored, with or without the reference
        using var st = SafeTensorsFile.Open(Path.Combine(ckpt, "model.safetensors"));
        var q = a.Single(kv => kv.Key.StartsWith("encoder.block.0.layer.0.SelfAttention.q.weight", StringComparison.Ordinal)).Value;
        Assert.True(q.AsSpan().SequenceEqual(st.GetBytes("encoder.block.0.layer.0.SelfAttention.q.weight")));
    }

    [Fact]
    public void Plan_references_the_checkpoint_unless_embedding_and_reads_the_same_bytes_either_way()
    {
        var (ckpt, _, referenced) = Export();
        string file = Path.Combine(ckpt, "model.safetensors");
        long ckptBytes = new FileInfo(file).Length;
        string refEntry = Fixtures.TempDir("ckref-entry"), embedEntry = Fixtures.TempDir("ckref-embed");
        var refWrite = PlanFile.Write(CudaBackend.Compile(referenced).Graph, refEntry, new Dictionary<string, byte[]>());
        var embedWrite = PlanFile.Write(CudaBackend.Compile(referenced).Graph, embedEntry, new Dictionary<string, byte[]>(), embed: true);
        Assert.Equal(1, refWrite.ReferencedFiles);
        Assert.True(refWrite.ReferencedBytes >= ckptBytes * 0.9, $"referenced {refWrite.ReferencedBytes} of {ckptBytes}");
        Assert.True(WeightsBin(refEntry) < ckptBytes / 5, $"weights.bin of a referencing entry: {WeightsBin(refEntry)} bytes");
        Assert.Equal(0, embedWrite.ReferencedBytes);
        Assert.True(WeightsBin(embedEntry) >= ckptBytes * 0.9);
        Assert.Equal([Path.GetFullPath(file)], PlanFile.ReferencedFiles(refEntry));
        Assert.Empty(PlanFile.ReferencedFiles(embedEntry));

        var (gr, _) = PlanFile.Read(refEntry);
        var (ge, _) = PlanFile.Read(embedEntry);
        Assert.Equal(ge.Constants.Keys.Order(), gr.Constants.Keys.Order());
        foreach (var c in ge.Constants.Values)
            Assert.True(c.Bytes.AsSpan().SequenceEqual(gr.Constants[c.Name].Bytes), $"constant '{c.Name}' differs between the referencing and the embedded entry");
        // what the engine uploads: spans of the mapped files, the bytes the plan says
        foreach (var c in gr.Constants.Values.Where(c => EncoderFusion.IsDeviceWeight(c.Name)))
            c.WithBytes(span => Assert.Equal(c.Count * c.DType.SizeOf(), span.Length));
    }

    [Fact]
    public void Loading_an_entry_whose_checkpoint_changed_or_went_fails_naming_the_file()
    {
        var (ckpt, _, referenced) = Export();
        string file = Path.GetFullPath(Path.Combine(ckpt, "model.safetensors"));
        string entry = Fixtures.TempDir("ckref-stale");
        PlanFile.Write(CudaBackend.Compile(referenced).Graph, entry, new Dictionary<string, byte[]>());
        PlanFile.Read(entry);
        File.SetLastWriteTimeUtc(file, File.GetLastWriteTimeUtc(file).AddMinutes(5));
        var changed = Assert.Throws<EngineException>(() => PlanFile.Read(entry));
        Assert.Contains(file, changed.Message);
        Assert.Contains("changed since the entry was built", changed.Message);
        File.Delete(file);
        var missing = Assert.Throws<EngineException>(() => PlanFile.Read(entry));
        Assert.Contains(file, missing.Message);
        Assert.Contains("missing", missing.Message);
    }

    [Fact]
    public void Embedded_entries_have_their_own_key()
    {
        var cuda = new CudaBackend();
        Assert.Equal(CudaBackend.PackedPrecision, cuda.BuiltPrecision(new EngineBuildOptions()));
        Assert.Equal(CudaBackend.PackedPrecision + CudaBackend.EmbeddedSuffix, cuda.BuiltPrecision(new EngineBuildOptions { EmbedWeights = true }));
        Assert.True(cuda.ReadsCheckpointReferences);
    }

    [Fact]
    public void Build_takes_embed_weights_as_a_switch()
    {
        var cl = new CommandLine(["--model", "m", "--embed-weights"], BuildCommand.Flags, BuildCommand.Switches);
        Assert.True(cl.Has("embed-weights"));
        Assert.Equal("m", cl.String("model"));
        Assert.False(new CommandLine(["--model", "m"], BuildCommand.Flags, BuildCommand.Switches).Has("embed-weights"));
        Assert.Throws<UsageException>(() => new CommandLine(["--embed-weights=yes"], BuildCommand.Flags, BuildCommand.Switches));
    }

    [Theory]
    [InlineData(1, 3, 5)]
    [InlineData(2, 67, 131)]
    [InlineData(4, 300, 700)]
    [InlineData(8, 129, 65)]
    public void Blocked_transpose_matches_the_element_loop(int elementSize, int rows, int cols)
    {
        var src = new byte[rows * cols * elementSize];
        new Random(rows * cols).NextBytes(src);
        var dst = new byte[src.Length];
        Transpose2d.Run(src, dst, rows, cols, elementSize);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                Assert.True(src.AsSpan((r * cols + c) * elementSize, elementSize).SequenceEqual(dst.AsSpan((c * rows + r) * elementSize, elementSize)));
    }
}

/// <summary>An intact entry the backend calls unusable (its referenced checkpoint changed) is rebuilt, as a corrupt one.</summary>
public class EntryProblemRebuildTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("ckref-cache");
    public void Dispose() => Directory.Delete(_dir, true);

    [Fact]
    public void An_entry_whose_backend_reports_a_problem_is_rebuilt_with_the_problem_logged()
    {
        string graph = Engines.AddConstantBackend.WriteGraph(_dir, 2f);
        var backend = new Engines.AddConstantBackend();
        var cache = new EngineCache(Path.Combine(_dir, "cache"));
        cache.GetOrBuild(Engines.EngineCacheTestSupport.Request(graph), backend).Engine.Dispose();
        Assert.Equal(1, backend.BuildCount);
        var again = cache.GetOrBuild(Engines.EngineCacheTestSupport.Request(graph), backend);
        Assert.True(again.Hit);
        again.Engine.Dispose();

        backend.Problem = _ => "engine entry references weights in '/m/model.safetensors', which changed since the entry was built";
        var lines = new List<string>();
        Assert.Null(cache.TryLoad("transformer", Engines.EngineCacheTestSupport.Request(graph).KeyParts(backend), backend, null, out string? problem));
        Assert.Contains("/m/model.safetensors", problem);
        var progress = new SyncProgress(lines.Add);
        var rebuilt = cache.GetOrBuild(Engines.EngineCacheTestSupport.Request(graph), backend, progress);
        rebuilt.Engine.Dispose();
        Assert.False(rebuilt.Hit);
        Assert.Equal(2, backend.BuildCount);
        Assert.Contains(lines, l => l.Contains("/m/model.safetensors") && l.Contains("rebuilding"));
    }

    sealed class SyncProgress(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}

/// <summary>Through EngineProvider, with a backend that reads checkpoint references and writes native-cuda plans (no GPU:
/// build = compile + PlanFile, load = PlanFile.Read): the staging export is deleted after the build and the entry still
/// loads from the checkpoint; a touched checkpoint (same bytes, new write time) rebuilds the entry, saying why.</summary>
public class ProviderCheckpointReferenceTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("ckref-provider");
    public void Dispose() => Directory.Delete(_dir, true);

    sealed class PlanOnlyBackend : IEngineBackend
    {
        public int Builds;
        public string Name => "test-plan";
        public string Version => "1";
        public string Device => "cpu";
        public bool ReadsCheckpointReferences => true;
        public string BuiltPrecision(EngineBuildOptions options) => options.EmbedWeights ? "embedded" : "referencing";
        public string? EntryProblem(string entryDirectory) => PlanFile.ReferenceProblem(entryDirectory);

        public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options)
        {
            Builds++;
            PlanFile.Write(CudaBackend.Compile(onnxPath).Graph, entryDirectory, new Dictionary<string, byte[]>(), options.EmbedWeights);
            return [PlanFile.PlanName, PlanFile.WeightsName];
        }

        public IEngine Load(string entryDirectory, EngineManifest manifest) => new PlanEngine(manifest, PlanFile.Read(entryDirectory).Graph);
    }

    sealed class PlanEngine(EngineManifest manifest, OpGraph graph) : IEngine
    {
        public OpGraph Graph => graph;
        public EngineManifest Manifest => manifest;
        public IReadOnlyDictionary<string, HostTensor> Run(IReadOnlyDictionary<string, HostTensor> inputs) => throw new NotSupportedException();
        public void Dispose() { }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Entry_references_the_checkpoint_after_the_staging_export_is_gone(bool embed)
    {
        string model = Path.Combine(_dir, "model");
        string ckpt = CheckpointReferenceTests.TinyUmt5(Path.Combine(model, "text_encoder"));
        File.WriteAllText(Path.Combine(model, "model_index.json"),
            """{"_class_name": "WanPipeline", "_diffusers_version": "0.33.0", "text_encoder": ["transformers", "UMT5EncoderModel"]}""");
        string file = Path.GetFullPath(Path.Combine(ckpt, "model.safetensors"));
        // a checkpoint written just now would not be recorded in the key index (its write time is not settled)
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-10));
        string root = Path.Combine(_dir, "cache");
        var backend = new PlanOnlyBackend();
        var options = new EngineBuildOptions { Opset = OnnxWriter.Opset, EmbedWeights = embed };
        var log = new Engines.ProgressLog();
        using (var provider = new VisualGen.Exporter.Export.EngineProvider(new EngineCache(root), backend, VisualGen.Exporter.Export.ComponentExporterRegistry.CreateDefault(), options))
        {
            var (engine, report) = provider.Prepare(model, "text_encoder", log);
            Assert.False(report.Hit);
            Assert.Empty(Directory.GetDirectories(root, ".tmp-*"));
            var g = ((PlanEngine)engine).Graph;
            using var st = SafeTensorsFile.Open(file);
            var q = g.Constants.Values.Single(c => c.Name.StartsWith("encoder.block.1.layer.1.DenseReluDense.wo.weight", StringComparison.Ordinal) && EncoderFusion.IsDeviceWeight(c.Name));
            Assert.True(q.Bytes.AsSpan().SequenceEqual(st.GetBytes("encoder.block.1.layer.1.DenseReluDense.wo.weight")));
            Assert.Equal(embed ? [] : [file], PlanFile.ReferencedFiles(report.EntryDirectory));
            long ckptBytes = new FileInfo(file).Length, bin = new FileInfo(Path.Combine(report.EntryDirectory, PlanFile.WeightsName)).Length;
            Assert.True(embed ? bin >= ckptBytes * 0.9 : bin < ckptBytes / 5, $"weights.bin {bin} bytes, checkpoint {ckptBytes}");
        }
        Assert.Equal(1, backend.Builds);

        // the same bytes, a new write time: the key is the same (the weight fingerprint hashes content), the entry is rebuilt
        File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddMinutes(-5));
        var log2 = new Engines.ProgressLog();
        using (var provider = new VisualGen.Exporter.Export.EngineProvider(new EngineCache(root), backend, VisualGen.Exporter.Export.ComponentExporterRegistry.CreateDefault(), options))
            provider.Prepare(model, "text_encoder", log2);
        if (embed) Assert.Equal(1, backend.Builds);
        else
        {
            Assert.Equal(2, backend.Builds);
            Assert.Contains(log2.Lines, l => l.Contains(file) && l.Contains("rebuilding"));
        }
    }
}

/// <summary>On the conformance checkpoints (bf16 copies): the checkpoint-referencing export of the Wan transformer, UMT5
/// and the VAE decoder compiles to the same fused graph, constants and bytes as the copying export (the DiT fusions
/// see the folded transposes as they saw the copied [in, out] weights).</summary>
public class ReferencedExportConformanceTests
{
    static void SameCompiled(Func<string, ITensorSource, VisualGen.Exporter.Graph.Graph> trace, string component, string name)
    {
        var (dir, _) = Export.CheckpointDTypeExportTests.Bf16Copies(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), component), "ref-" + name);
        using var w = SafeTensorsFile.Open(Directory.GetFiles(dir, "*.safetensors").Single());
        var graph = trace(dir, w);
        string copied = Path.Combine(Fixtures.TempDir("ref-copy-" + name), "model.onnx"), referenced = Path.Combine(Fixtures.TempDir("ref-ref-" + name), "model.onnx");
        new OnnxWriter { ExternalDataThreshold = 0 }.Write(graph, copied);
        new OnnxWriter { ExternalDataThreshold = 0, ReferenceCheckpoint = true }.Write(graph, referenced);
        var (gc, rc) = CudaBackend.Compile(copied);
        var (gr, rr) = CudaBackend.Compile(referenced);
        Assert.Equal(rc.ToString(), rr.ToString());
        Assert.Equal(gc.Nodes.Select(n => n.Op + ":" + n.Name), gr.Nodes.Select(n => n.Op + ":" + n.Name));
        Assert.Equal(gc.Constants.Keys.Order(), gr.Constants.Keys.Order());
        foreach (var c in gc.Constants.Values)
            Assert.True(c.Bytes.AsSpan().SequenceEqual(gr.Constants[c.Name].Bytes), $"{name}: constant '{c.Name}' differs");
        // and what an entry of each references: the same checkpoint ranges
        string e1 = Fixtures.TempDir("ref-e1-" + name), e2 = Fixtures.TempDir("ref-e2-" + name);
        var w1 = PlanFile.Write(gc, e1, new Dictionary<string, byte[]>());
        var w2 = PlanFile.Write(gr, e2, new Dictionary<string, byte[]>());
        Assert.Equal(w1, w2);
        Assert.True(w1.ReferencedBytes > 0, $"{name}: nothing referenced");
    }

    [ConformanceFact]
    public void Wan_transformer_umt5_and_vae_decoder_compile_the_same_from_either_export()
    {
        SameCompiled((d, w) => VisualGen.Exporter.Models.Wan.WanTransformer3D.Trace(d, w), "transformer", "wan");
        SameCompiled((d, w) => T5Encoder.Trace(d, w), "text_encoder", "umt5");
        SameCompiled((d, w) => VisualGen.Exporter.Models.Wan.Vae.AutoencoderKLWan.TraceDecoder(d, w, VisualGen.Exporter.Models.Wan.Vae.WanChunk.First), "vae", "vae");
    }
}
