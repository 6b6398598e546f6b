using System.Diagnostics;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Engines.Cuda.Runtime;

namespace VisualGen.Engines.Cuda;

/// <summary>
/// The native CUDA engine as a backend. Build: read the ONNX graph, fuse the exporter's patterns, check that every
/// node can run (a build error names any that cannot), pack weights (bf16 [N,K] for GEMMs), and, when shape profiles
/// are given, tune the GEMM algorithms at the profiles' opt shapes on the device. The entry holds plan.json +
/// weights.bin, and references the checkpoint's tensors that are already in the packed layout (see <see cref="PlanFile"/>);
/// Load reads them through memory maps and uploads the weights, with no re-tuning.
/// </summary>
public sealed class CudaBackend : IEngineBackend
{
    readonly Lazy<(string Version, string Device)> _ids;

    public int DeviceIndex { get; init; }
    /// <summary>Activations of at least this many rows are bf16; smaller ones (per-batch vectors) stay fp32.</summary>
    public long Bf16MinRows { get; init; } = 64;
    /// <summary>Self-attention precision of the engines this backend loads. Not part of the cache key: the built entry
    /// (plan and packed bf16 weights) is the same; the attention kernels are chosen when a shape is planned.</summary>
    public AttentionPrecision Attention { get; init; } = AttentionPrecision.Bf16;
    /// <summary>Under <see cref="AttentionPrecision.Sage"/>, cross-attention (keys and values of another length than the
    /// queries, e.g. a DiT's text tokens) runs Sage-style too; otherwise it runs bf16, as under FP8.</summary>
    public bool SageCrossAttention { get; init; }
    /// <summary>Under <see cref="AttentionPrecision.Sage"/>, the tokens per INT8 scale of Q and of K. Not part of the
    /// cache key (chosen when a shape is planned).</summary>
    public VisualGen.Quantization.SageScaleBlocks SageBlocks { get; init; } = VisualGen.Quantization.SageScaleBlocks.Default;
    /// <summary>Per-tensor FP8 linears sum their products in the tensor core's FP8 accumulator for the whole K loop
    /// (cuBLASLt's FAST_ACCUM, as TensorRT-LLM's and vLLM's FP8 linears do) instead of promoting partial sums to fp32.
    /// On by default: on an H200 it took the Wan 2.1 1.3B FP8 forward's GEMMs from 178 to 167 ms at the same cosine
    /// against bf16 (0.99909 vs 0.99910; tools/bench/RESULTS.md, stop 25). Not part of the cache key (chosen when a
    /// shape is planned).</summary>
    public bool Fp8FastAccumulation { get; init; } = true;
    /// <summary>FP8 linears without a static input scale (dynamic quantization) quantize their activations with one
    /// scale per row (token) instead of one per tensor: one pass over the activation instead of two (max|x|, then the
    /// codes), finer scales, and cuBLASLt's per-row (OUTER_VEC) scaling in the GEMM. Where cuBLASLt has no per-row
    /// GEMM for a linear the per-tensor path runs and <c>QuantLog</c> says so. Not part of the cache key.</summary>
    public bool Fp8RowActivations { get; init; } = true;
    /// <summary>A DiT's FFN up projection (a dynamic FP8 linear with GELU read only by per-row scaled FP8 linears) runs
    /// one CUTLASS GEMM whose epilogue writes the down projection's FP8 codes (with per-row bound scales) instead of a
    /// bf16 product and a GELU + quantization pass: Wan 2.1 1.3B's FFN up 1.94 → 1.50 ms a call on an H100. Where the
    /// library was built without CUTLASS or the GPU is not Hopper, the two-pass path runs and <c>QuantLog</c> says why.
    /// Not part of the cache key.</summary>
    public bool Fp8GeluEpilogue { get; init; } = true;
    /// <summary>Under Sage attention, a cross-attention whose q is a weight-only RMSNorm's output (Wan's) and whose output
    /// only FP8 linears read (the O projection of an FP8 transformer) runs cuDNN's FP8 kernel: the norm writes q's codes
    /// with a bound scale, the text's k and v are quantized per tensor, and the O projection reads the output's codes directly (Wan 2.1 1.3B: 0.353 → 0.282 ms a call, the q write and the O
    /// projection's quantization pass gone). Off: such cross-attentions run bf16 (or Sage with
    /// <see cref="SageCrossAttention"/>). Not part of the cache key.</summary>
    public bool Fp8CrossAttention { get; init; } = true;
    /// <summary>NVFP4 linears unpack their weights to bf16 before a bf16 GEMM even on GPUs with FP4 tensor cores
    /// (compute capability 10.0+), where by default the activations are quantized to NVFP4 too and cuBLASLt's NVFP4 GEMM
    /// runs (W4A4, as TensorRT-LLM runs NVFP4). Hopper always runs weight-only. Not part of the cache key.</summary>
    public bool Nvfp4WeightOnly { get; init; }
    /// <summary>Where an engine reports a quantized linear or attention that runs other than its scheme's usual path, and
    /// why (a kernel this library or GPU lacks, a shape it does not take), when a shape is planned: once per kind.</summary>
    public IProgress<string>? Log { get; init; }
    /// <summary>Lines of what the last build did (fusions, tuning), for logs.</summary>
    public List<string> BuildLog { get; } = [];

    /// <summary>The native library that cannot be loaded (not built, not found, or a dependency such as libcudnn or the
    /// driver missing), or null.</summary>
    public string? Unavailable => NativeMethods.TryLoad(out var why) ? null : $"the native CUDA engine cannot start: {why}";

    /// <summary>Whether this machine could run the native engine now: its library loads and CUDA device 0 answers.</summary>
    public static bool DeviceReady()
    {
        if (!NativeMethods.TryLoad(out _)) return false;
        unsafe
        {
            NativeMethods.DeviceInfo info = default;
            info.StructSize = (uint)sizeof(NativeMethods.DeviceInfo);
            return NativeMethods.vg_get_device_info(0, &info) == 0;
        }
    }

    public CudaBackend()
    {
        _ids = new Lazy<(string, string)>(() =>
        {
            if (!NativeMethods.TryLoad(out var why)) throw new EngineException($"the native CUDA engine cannot start: {why}");
            unsafe
            {
                NativeMethods.Versions v;
                NativeMethods.Check(NativeMethods.vg_get_versions(&v), "vg_get_versions");
                NativeMethods.DeviceInfo info = default;
                info.StructSize = (uint)sizeof(NativeMethods.DeviceInfo);
                NativeMethods.Check(NativeMethods.vg_get_device_info(DeviceIndex, &info), "vg_get_device_info");
                string name = System.Text.Encoding.UTF8.GetString(new ReadOnlySpan<byte>(info.Name, 256)).TrimEnd('\0');
                return ($"abi{v.Abi}/cudart{v.CudaRuntime}/cublaslt{v.CublasLt}/cudnn{v.Cudnn}/plan{PlanFile.FormatVersion}",
                        $"sm{info.CcMajor}{info.CcMinor}/driver{v.CudaDriver}/{name.Replace(' ', '_')}");
            }
        });
    }

    public string Name => "native-cuda";

    /// <summary>What an entry holds whatever the exported graph's precision: GEMM weights and embedding tables packed to
    /// bf16, convolution kernels and small constants (biases, norm weights) in fp32. Quantized linears keep their stored
    /// codes (FP8 e4m3, packed NVFP4 with e4m3 block scales); the graph's quantization is part of the cache key.</summary>
    public const string PackedPrecision = "bf16-weights+fp32-conv";

    /// <summary>What <see cref="BuiltPrecision"/> adds for entries built with <see cref="EngineBuildOptions.EmbedWeights"/>
    /// (so an embedded and a referencing entry never share a key).</summary>
    public const string EmbeddedSuffix = "+embedded-weights";

    public string BuiltPrecision(EngineBuildOptions options) => options.EmbedWeights ? PackedPrecision + EmbeddedSuffix : PackedPrecision;
    /// <summary>The build reads the exporter's checkpoint references (<see cref="OnnxGraphReader"/> folds the transposes
    /// they come with), so the export writes no weight bytes.</summary>
    public bool ReadsCheckpointReferences => true;

    public string Version => _ids.Value.Version;
    public string Device => _ids.Value.Device;

    /// <summary>Reads and fuses a graph without touching the GPU (also what the CPU tests check).</summary>
    public static (OpGraph Graph, FusionReport Report) Compile(string onnxPath)
    {
        var g = OnnxGraphReader.Read(onnxPath);
        var report = Fusion.Apply(g);
        QuantizedLinearCheck.RequireFused(g, onnxPath);
        OpRegistry.Validate(g, onnxPath);
        return (g, report);
    }

    public IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options) =>
        Build(onnxPath, entryDirectory, options, takeGraph: false);

    /// <summary>As <see cref="Build"/>; the external data file beside the graph that holds most of the weights the entry
    /// keeps (an FP8 transformer's codes) becomes the entry's weights.bin instead of being copied into it.</summary>
    public IReadOnlyList<string> BuildTakingGraph(string onnxPath, string entryDirectory, EngineBuildOptions options) =>
        Build(onnxPath, entryDirectory, options, takeGraph: true);

    IReadOnlyList<string> Build(string onnxPath, string entryDirectory, EngineBuildOptions options, bool takeGraph)
    {
        var clock = Stopwatch.StartNew();
        var (g, report) = Compile(onnxPath);
        BuildLog.Add($"fused: {report} ({g.Nodes.Count} nodes after fusion)");
        var written = PlanFile.Write(g, entryDirectory, new Dictionary<string, byte[]>(), options.EmbedWeights,
            takeGraph ? Path.GetDirectoryName(Path.GetFullPath(onnxPath)) : null);
        BuildLog.Add($"weights: {written.EmbeddedBytes / 1e6:F1} MB written to {PlanFile.WeightsName}" +
            (written.AdoptedBytes > 0 ? $" after {written.AdoptedBytes / 1e6:F1} MB of the export's data taken as it is ({written.AdoptedUnusedBytes / 1e6:F1} MB of it unused)" : "") +
            $", {written.ReferencedBytes / 1e6:F1} MB referenced in {written.ReferencedFiles} checkpoint file(s), in {clock.Elapsed.TotalSeconds:F1} s");
        if (options.Profiles.Count > 0 && g.Inputs.Any(i => i.PlanTime))
            BuildLog.Add($"GEMM tuning skipped: inputs {string.Join(", ", g.Inputs.Where(i => i.PlanTime).Select(i => i.Name))} are read when a shape is planned, and profiles give only shapes (cuBLASLt's heuristic algorithms are used)");
        else if (options.Profiles.Count > 0)
        {
            var shapes = options.Profiles.ToDictionary(kv => kv.Key, kv => kv.Value.Opt);
            var (g2, algos) = PlanFile.Read(entryDirectory);
            using var engine = new CudaEngine(g2, algos, Placeholder(), Bf16MinRows, DeviceIndex);
            var lines = engine.Tune(shapes);
            BuildLog.AddRange(lines.Select(l => "tuned " + l));
            // rewrite plan.json with the algorithms (weights.bin is unchanged)
            var (g3, _) = PlanFile.Read(entryDirectory);
            RewritePlan(g3, entryDirectory, engine.Algorithms);
        }
        BuildLog.Add($"build: {clock.Elapsed.TotalSeconds:F1} s");
        return [PlanFile.PlanName, PlanFile.WeightsName];
    }

    static void RewritePlan(OpGraph g, string dir, IReadOnlyDictionary<string, byte[]> algorithms)
    {
        // weights.bin keeps its layout: write the plan to a scratch folder and take only plan.json
        string tmp = Path.Combine(dir, ".plan-rewrite");
        Directory.CreateDirectory(tmp);
        try
        {
            File.Copy(Path.Combine(dir, PlanFile.PlanName), Path.Combine(tmp, "old.json"));
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(dir, PlanFile.PlanName)))!;
            var algos = new System.Text.Json.Nodes.JsonObject();
            foreach (var kv in algorithms) algos[kv.Key] = Convert.ToHexString(kv.Value);
            json["GemmAlgorithms"] = algos;
            File.WriteAllText(Path.Combine(dir, PlanFile.PlanName), json.ToJsonString());
        }
        finally { Directory.Delete(tmp, true); }
        _ = g;
    }

    static EngineManifest Placeholder() => new()
    {
        Key = "build", Component = "build", EntryFile = PlanFile.PlanName, Files = new Dictionary<string, string>(), Inputs = [], Outputs = [],
        KeyParts = new EngineKeyParts { GraphHash = "", WeightFingerprint = "", Backend = "native-cuda", BackendVersion = "", Device = "", Precision = "", Profiles = "", Opset = 23, ExporterVersion = "" },
    };

    /// <summary>A referenced checkpoint file that is missing or changed since the build (the message names it).</summary>
    public string? EntryProblem(string entryDirectory) => PlanFile.ReferenceProblem(entryDirectory);

    public IEngine Load(string entryDirectory, EngineManifest manifest) => LoadEngine(entryDirectory, manifest);

    public CudaEngine LoadEngine(string entryDirectory, EngineManifest manifest)
    {
        var (g, algos) = PlanFile.Read(entryDirectory);
        return new CudaEngine(g, algos, manifest, Bf16MinRows, DeviceIndex, Attention, SageCrossAttention, Fp8FastAccumulation, Nvfp4WeightOnly, SageBlocks,
            Fp8RowActivations, Fp8GeluEpilogue, Fp8CrossAttention, Log);
    }
}
