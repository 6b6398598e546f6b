using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>A fact that needs libvisualgen_native.so and a GPU; skipped with the reason elsewhere (CI has no GPU).</summary>
public sealed class GpuFactAttribute : FactAttribute
{
    public GpuFactAttribute()
    {
        if (!NativeMethods.TryLoad(out var why)) Skip = "native CUDA library or GPU not available: " + why;
        else if (Fixtures.ConformanceRoot is null) Skip = "../shared/conformance is not beside this checkout";
    }
}

public class CudaEngineTests
{
    static string ExportConformanceWan()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var graph = WanTransformer3D.Trace(dir, weights);
        string path = Path.Combine(Fixtures.TempDir("cuda"), "model.onnx");
        new OnnxWriter().Write(graph, path);
        return path;
    }

    [ConformanceFact]
    public void Wan_graph_fuses_into_the_engine_ops()
    {
        var (g, report) = CudaBackend.Compile(ExportConformanceWan());
        // 2 blocks: per block 10 linears (q,k,v,o ×2 + ffn ×2), 2 RoPE'd norms, 2 modulated norms, 1 affine LayerNorm,
        // 2 cross-attention RMSNorms, 2 gated residuals; plus 5 condition-embedder linears, proj_out, the final norm, the patch conv.
        Assert.Equal(26, report.Counts["VgLinear"]);
        Assert.Equal(4, report.Counts["VgRmsNormRope"]);
        Assert.Equal(5, report.Counts["VgNorm(modulate)"]);
        Assert.Equal(2, report.Counts["VgNorm(layer)"]);
        Assert.Equal(4, report.Counts["VgNorm(rms)"]);
        Assert.Equal(4, report.Counts["VgGatedResidual"]);
        Assert.Equal(1, report.Counts["VgPatchConv"]);
        Assert.DoesNotContain(report.Counts.Keys, k => k is "VgRopeRotateHalf" or "VgSwiGlu" or "VgSiluMul" or "Attention(mask broadcast)");
        Assert.Equal(4, g.Nodes.Count(n => n.Op == "Attention"));
        Assert.DoesNotContain(g.Nodes, n => n.Op is "MatMul" or "Gelu" or "LayerNormalization" or "RMSNormalization" or "Conv");
        // the GEMM weights are packed as bf16 [N, K]
        var lin = g.Nodes.First(n => n.Op == "VgLinear" && n.Name.Contains("blocks.0"));
        var w = g.Constants[lin.Inputs[1]!];
        Assert.Equal(TensorDType.BF16, w.DType);
        Assert.Equal(new[] { lin.Int("n", 0), lin.Int("k", 0) }, w.Shape);
    }

    [ConformanceFact]
    public void Packed_weight_is_the_transposed_bf16_of_the_matmul_weight()
    {
        string path = ExportConformanceWan();
        var raw = VisualGen.Engines.Cuda.Model.OnnxGraphReader.Read(path);
        var (g, _) = CudaBackend.Compile(path);
        var lin = g.Nodes.First(n => n.Op == "VgLinear" && n.Name.Contains("blocks.1"));
        string kn = lin.Inputs[1]!.Replace("#bf16nk", "");
        var src = raw.Constants[kn].ToDoubles();
        long k = lin.Int("k", 0), n = lin.Int("n", 0);
        var packed = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, ushort>(g.Constants[lin.Inputs[1]!].Bytes).ToArray();
        for (long j = 0; j < n; j++)
            for (long i = 0; i < k; i++)
                Assert.Equal((float)src[i * n + j], ElementConvert.BFloat16ToFloat(packed[j * k + i]), 0.01f * Math.Max(1f, Math.Abs((float)src[i * n + j])));
    }

    [Fact]
    public void Unsupported_op_is_a_build_error_naming_the_node()
    {
        var t = new Tracer("softmax_graph");
        var x = t.Input("x", TensorDType.F32, "batch", "8");
        t.Output(x.Softmax(), "y", "batch", "8");
        string path = Path.Combine(Fixtures.TempDir("cuda"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var e = Assert.Throws<EngineException>(() => CudaBackend.Compile(path));
        Assert.Contains("Softmax", e.Message);
        Assert.Contains("'Softmax'", e.Message); // the node's name (the tracer names it after its op)
    }

    [Fact]
    public void Plan_time_op_fed_by_a_device_value_is_a_build_error_naming_the_node()
    {
        // a weight-free MatMul is folded at plan time; fed by an ordinary (device) input it cannot run
        var t = new Tracer("matmul_graph");
        var x = t.Input("x", TensorDType.F32, "8", "3");
        var f = t.Input("f", TensorDType.F32, "3", "4");
        t.Output(x.MatMul(f), "y", "8", "4");
        string path = Path.Combine(Fixtures.TempDir("cuda"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var e = Assert.Throws<EngineException>(() => CudaBackend.Compile(path));
        Assert.Contains("node 'MatMul", e.Message);
        Assert.Contains("runs only at plan time, but its input 'x' is computed on the device", e.Message);
        // marked as a plan-time input, the same graph compiles
        t.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "x,f";
        new OnnxWriter().Write(t.Graph, path);
        var (g, _) = CudaBackend.Compile(path);
        Assert.All(g.Inputs, i => Assert.True(i.PlanTime));
        t.Graph.Metadata[GraphMetadata.PlanTimeInputs] = "x,nope";
        new OnnxWriter().Write(t.Graph, path);
        Assert.Contains("names 'nope', which is not a graph input", Assert.Throws<EngineException>(() => CudaBackend.Compile(path)).Message);
    }

    [Fact]
    public void Memory_planner_reuses_bytes_after_last_use_at_any_size()
    {
        var iv = new List<MemoryPlanner.Interval>
        {
            new("in", 1000, -1, 5, true),   // persistent: not in the arena
            new("a", 4096, 0, 1, false),    // dies after step 1
            new("b", 4096, 1, 2, false),    // overlaps a
            new("c", 2048, 2, 3, false),    // a's bytes are free again
            new("d", 8192, 3, 4, false),    // larger than a or b alone: a and b's bytes together (both dead by step 3)
            new("e", 4096, 4, 5, false),
        };
        var (arena, at) = MemoryPlanner.Arrange(iv);
        Assert.DoesNotContain("in", at.Keys);
        // the peak of live bytes, the lower bound, is reached: d and e at step 4 (the block planner took 16384)
        Assert.Equal(8192 + 4096, arena);
        Assert.Equal(at["a"], at["d"]);   // d takes bytes a had, beyond a's size
        AssertArranged(iv, arena, at);
    }

    /// <summary>Every value that is not persistent lies 256-byte aligned inside the arena, and no two values alive at the
    /// same step share a byte.</summary>
    static void AssertArranged(List<MemoryPlanner.Interval> iv, long arena, Dictionary<string, long> at, string context = "")
    {
        var live = iv.Where(v => !v.Persistent).ToList();
        Assert.Equal(live.Count, at.Count);
        foreach (var x in live)
        {
            Assert.Equal(0, at[x.Name] % 256);
            Assert.True(at[x.Name] + x.Bytes <= arena, $"{context}{x.Name} ends past the arena");
        }
        for (int i = 0; i < live.Count; i++)
            for (int j = i + 1; j < live.Count; j++)
            {
                var (x, y) = (live[i], live[j]);
                bool together = x.Def <= Math.Max(y.LastUse, y.Def) && y.Def <= Math.Max(x.LastUse, x.Def);
                bool apart = at[x.Name] + x.Bytes <= at[y.Name] || at[y.Name] + y.Bytes <= at[x.Name];
                Assert.True(!together || apart, $"{context}{x} and {y} live together and share bytes");
            }
    }

    [Fact]
    public void Memory_planner_never_overlaps_live_values_on_random_lifetimes()
    {
        var rng = new Random(7);
        for (int trial = 0; trial < 50; trial++)
        {
            var iv = Enumerable.Range(0, 200).Select(i =>
            {
                int def = rng.Next(0, 100);
                return new MemoryPlanner.Interval($"v{i}", rng.Next(1, 1 << 20), def, def + rng.Next(0, 20), rng.Next(20) == 0);
            }).ToList();
            var (arena, at) = MemoryPlanner.Arrange(iv);
            var live = iv.Where(v => !v.Persistent).ToList();
            long peak = Enumerable.Range(0, 121).Max(s => live.Where(v => v.Def <= s && s <= v.LastUse).Sum(v => (v.Bytes + 255) / 256 * 256));
            Assert.True(arena >= peak);
            AssertArranged(iv, arena, at, $"trial {trial}: ");
        }
    }

    [GpuFact]
    public void Conformance_wan_transformer_matches_golden_on_the_gpu()
    {
        string path = ExportConformanceWan();
        using var engine = GpuEngines.BuildAndLoad(path);
        using var golden = Fixtures.Golden("wan21_t2v");
        var outT = engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
        })["sample"];
        var expected = Fixtures.GoldenTensor(golden, "transformer.out").Floats;
        double dot = 0, na = 0, nb = 0;
        for (int i = 0; i < expected.Length; i++) { dot += expected[i] * (double)outT.Floats[i]; na += expected[i] * (double)expected[i]; nb += outT.Floats[i] * (double)outT.Floats[i]; }
        Assert.True(dot / Math.Sqrt(na * nb) >= 0.999, $"cosine {dot / Math.Sqrt(na * nb)}");
    }
}

public class CudaPlannerTests
{
    [ConformanceFact]
    public void Planner_folds_shapes_and_rope_tables_and_shares_memory()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var graph = WanTransformer3D.Trace(dir, weights);
        string path = Path.Combine(Fixtures.TempDir("cuda"), "model.onnx");
        new OnnxWriter().Write(graph, path);
        var (g, _) = CudaBackend.Compile(path);
        using var res = new VisualGen.Engines.Cuda.Runtime.EngineResources();
        using var plan = VisualGen.Engines.Cuda.Runtime.ShapePlanner.Plan(g, res, new Dictionary<string, long[]>
        {
            ["hidden_states"] = [2, 16, 3, 4, 6], ["timestep"] = [2], ["encoder_hidden_states"] = [2, 16, 32],
        });
        Assert.Equal(new long[] { 2, 16, 3, 4, 6 }, plan.Outputs["sample"].Shape);
        // shape arithmetic and the RoPE grid are folded: no step for Shape/Gather, the cos/sin tables are uploads
        Assert.DoesNotContain(plan.Steps, s => s.Name.Contains("Shape"));
        // (one cos and one sin table, shared by both blocks' q and k)
        Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.SequenceEqual(new long[] { 3 * 2 * 3, 8 })));
        Assert.Equal(26 + 1, plan.Gemms.Count); // the linears and the patch conv
        Assert.Equal(4, plan.Steps.Count(s => s.Kind == VisualGen.Engines.Cuda.Runtime.KernelClass.Attention));
        // lifetime planning: fewer blocks than values, and less memory than giving each value its own buffer
        Assert.True(plan.BlockCount < plan.Values.Count(v => v.Alias is null) / 2, $"{plan.BlockCount} blocks");
        Assert.True(plan.MemoryReport.Planned < plan.MemoryReport.Naive, $"{plan.MemoryReport}");
        // bound to the device arena at one address, then (after it grew or was freed) at another: every value placed
        // there moves with it, the workspace after them, and nothing else moves
        var inArena = plan.Values.Where(v => v.Alias is null && (!v.Persistent || plan.Outputs.Values.Any(o => o.Root == v) && v.Reuses is null)).ToList();
        // (the transformer's output has the shape of its input hidden_states, read first: it takes that buffer)
        Assert.Same(plan.Inputs["hidden_states"], plan.Outputs["sample"].Root.Reuses);
        Assert.NotEmpty(inArena);
        plan.Bind(0x10000000, 1);
        var offsets = inArena.ToDictionary(v => v, v => (long)v.BasePtr - 0x10000000);
        Assert.All(offsets.Values, o => Assert.InRange(o, 0, plan.ArenaBytes - 1));
        plan.Bind(0x70000000, 2);
        Assert.All(inArena, v => Assert.Equal(0x70000000 + offsets[v], (long)v.BasePtr));
        Assert.All(plan.Inputs.Values, v => Assert.Equal(IntPtr.Zero, v.BasePtr));
        if (plan.WorkspaceNeed > 0)
            Assert.True((long)plan.Workspace - 0x70000000 >= offsets.Max(kv => kv.Value + kv.Key.Bytes), "workspace after the values");
    }

    [ConformanceFact]
    public void Fp8_attention_quantizes_self_attention_and_keeps_cross_attention_bf16()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        string path = Path.Combine(Fixtures.TempDir("cuda-fp8"), "model.onnx");
        new OnnxWriter().Write(WanTransformer3D.Trace(dir, weights), path);
        var (g, _) = CudaBackend.Compile(path);
        using var res = new EngineResources { Attention = AttentionPrecision.Fp8 };
        using var plan = ShapePlanner.Plan(g, res, new Dictionary<string, long[]>
        {
            ["hidden_states"] = [2, 16, 3, 4, 6], ["timestep"] = [2], ["encoder_hidden_states"] = [2, 16, 32],
        });
        // 2 blocks: self-attention (18 tokens each way) -> quantize, FP8 attention, dequantize; cross-attention (kv 16) bf16
        var attention = plan.Steps.Where(s => s.Kind == KernelClass.Attention).ToList();
        Assert.Equal(2 * 3 + 2, attention.Count);
        Assert.Equal(2, attention.Count(s => s.Name.EndsWith("/quantize")));
        Assert.Equal(2, attention.Count(s => s.Name.EndsWith("/dequantize")));
        Assert.Equal(2, attention.Count(s => s.Detail is { } d && d.EndsWith("fp8") && d.Contains("q18k18")));
        Assert.Equal(2, attention.Count(s => s.Detail is { } d && !d.EndsWith("fp8") && d.Contains("q18k16")));
        // q, k, v and the output of each self-attention in one byte per element; 3 scale blocks of 8 floats each
        var fp8 = plan.Values.Where(v => v.DType == VgDType.FP8E4M3).ToList();
        Assert.Equal(2 * 4, fp8.Count);
        Assert.All(fp8, v => Assert.Equal(2L * 18 * 32, v.Bytes));
        Assert.Equal(2 * 3, plan.Values.Count(v => v.Name.EndsWith("_scale") && v.Bytes == 8 * 4));
        // the attention output the rest of the graph reads is bf16
        Assert.All(attention.Where(s => s.Name.EndsWith("/dequantize")), s => Assert.DoesNotContain("fp8", s.Detail ?? ""));

        using var bf16Res = new EngineResources();
        using var bf16Plan = ShapePlanner.Plan(g, bf16Res, new Dictionary<string, long[]>
        {
            ["hidden_states"] = [2, 16, 3, 4, 6], ["timestep"] = [2], ["encoder_hidden_states"] = [2, 16, 32],
        });
        Assert.DoesNotContain(bf16Plan.Values, v => v.DType == VgDType.FP8E4M3);
    }

    /// <summary>A random bf16 Wan transformer of one block with 2 heads of <paramref name="headDim"/> (the conformance
    /// checkpoint's heads are 16 wide, which the Sage kernel does not take), traced and compiled for the native engine.</summary>
    static VisualGen.Engines.Cuda.Model.OpGraph RandomWanGraph(int headDim, VisualGen.Exporter.Quantization.QuantizedLinears? quantization = null)
    {
        var config = new VisualGen.Demo.DemoWanTransformer { NumAttentionHeads = 2, AttentionHeadDim = headDim, FfnDim = 64, NumLayers = 1, RopeMaxSeqLen = 32 };
        string dir = Fixtures.TempDir("cuda-sage-model");
        File.WriteAllText(Path.Combine(dir, "config.json"), config.Config().ToJsonString());
        string st = Path.Combine(dir, "diffusion_pytorch_model.safetensors");
        SafeTensorsWriter.Write(st, config.Parameters().Select(p =>
        {
            var bits = p.Draw(5, "transformer").Select(ElementConvert.FloatToBFloat16).ToArray();
            return new TensorData(p.Name, TensorDType.BF16, p.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray());
        }));
        using var weights = SafeTensorsFile.Open(st);
        string path = Path.Combine(Fixtures.TempDir("cuda-sage"), "model.onnx");
        new OnnxWriter().Write(WanTransformer3D.Trace(dir, weights, quantization: quantization), path);
        return CudaBackend.Compile(path).Graph;
    }

    [Fact]
    public void Sage_attention_takes_self_attention_of_64_or_128_wide_heads_and_keeps_the_rest_bf16()
    {
        var shapes = new Dictionary<string, long[]>
        {
            ["hidden_states"] = [2, 16, 3, 4, 6], ["timestep"] = [2], ["encoder_hidden_states"] = [2, 16, 32],
        };
        var g = RandomWanGraph(64);
        using var res = new EngineResources { Attention = AttentionPrecision.Sage };
        using var plan = ShapePlanner.Plan(g, res, shapes);
        // one block: self-attention (18 tokens each way) is one Sage step (pre-pass and kernel in one library call),
        // cross-attention (kv 16 text tokens) stays on cuDNN bf16
        var attention = plan.Steps.Where(s => s.Kind == KernelClass.Attention).ToList();
        Assert.Equal(2, attention.Count);
        var sage = Assert.Single(attention, s => s.Detail is { } d && d.Contains("sage"));
        Assert.Contains("q18k18d64", sage.Detail);
        Assert.Contains("sage0x0", sage.Detail);  // the library's default blocks
        Assert.Single(attention, s => s.Detail is { } d && !d.Contains("sage") && d.Contains("q18k16"));
        // Sage's quantized tensors live in the workspace, but for Q's codes, which q's norm step writes (the test below)
        Assert.Single(plan.Values, v => v.DType == VgDType.FP8E4M3);
        Assert.Single(plan.Values, v => v.Name.EndsWith("/q#sage_codes", StringComparison.Ordinal));
        Assert.True(plan.WorkspaceNeed >= EngineResources.SageWorkspaceBytes(2, 2, 2, 18, 18, 64), $"{plan.WorkspaceNeed}");

        // 16-wide heads (no Sage kernel): every attention stays bf16, as the per-attention rule says
        using var res16 = new EngineResources { Attention = AttentionPrecision.Sage };
        using var plan16 = ShapePlanner.Plan(RandomWanGraph(16), res16, shapes);
        Assert.DoesNotContain(plan16.Steps, s => s.Detail is { } d && d.Contains("sage"));
        Assert.Equal(2, plan16.Steps.Count(s => s.Kind == KernelClass.Attention));
    }

    [Fact]
    public void Sage_attention_s_q_is_quantized_by_its_norm_step_where_the_attention_runs_sage()
    {
        var shapes = new Dictionary<string, long[]>
        {
            ["hidden_states"] = [2, 16, 3, 4, 6], ["timestep"] = [2], ["encoder_hidden_states"] = [2, 16, 32],
        };
        static bool Fused(Step s) => s.Name.EndsWith("/sage_codes", StringComparison.Ordinal);
        var g = RandomWanGraph(64);
        using var bf16Res = new EngineResources { Attention = AttentionPrecision.Bf16 };
        using var bf16 = ShapePlanner.Plan(g, bf16Res, shapes);
        using var res = new EngineResources { Attention = AttentionPrecision.Sage };
        using var plan = ShapePlanner.Plan(g, res, shapes);
        // self-attention: q's RMSNorm + RoPE step becomes the fused step that writes Q's codes; k's stays
        Assert.DoesNotContain(bf16.Steps, Fused);
        var fused = Assert.Single(plan.Steps, Fused);
        Assert.Equal(KernelClass.NormRope, fused.Kind);
        Assert.Contains("q18k18d64", fused.Detail);
        string qNorm = fused.Name[..^"/sage_codes".Length];
        Assert.Contains(bf16.Steps, s => s.Name == qNorm);
        Assert.DoesNotContain(plan.Steps, s => s.Name == qNorm);
        Assert.Equal(bf16.Steps.Count, plan.Steps.Count);  // one step for another
        Assert.Equal(bf16.Steps.Count(s => s.Kind == KernelClass.NormRope), plan.Steps.Count(s => s.Kind == KernelClass.NormRope));
        var codes = Assert.Single(plan.Values, v => v.Name.EndsWith("/q#sage_codes", StringComparison.Ordinal));
        Assert.Equal(EngineResources.SageQCodesBytes(2, 2, 18, 64), codes.Bytes);
        Assert.Equal(2 * 2 * 128 * 64 + 2 * 2 * 8 * 4, codes.Bytes);  // codes over 18 tokens padded to 128, a scale per 16
        // the attention comes after the fused step
        int at = plan.Steps.IndexOf(fused), sage = plan.Steps.FindIndex(s => s.Kind == KernelClass.Attention && s.Detail!.Contains("sage"));
        Assert.True(sage > at, $"{at} {sage}");
        // cross-attention (16 text tokens) stays bf16: its q norm is planned as before, in the attention's turn
        Assert.Single(plan.Steps, s => s.Kind == KernelClass.Attention && s.Detail is { } d && !d.Contains("sage") && d.Contains("q18k16"));

        // with Sage cross-attention too, the cross-attention's weight-only RMSNorm of q is fused the same way
        // (its input bf16 from 1 row on here, as a real latent's thousands of rows are: the fused kernel reads bf16)
        using var crossRes = new EngineResources { Attention = AttentionPrecision.Sage, SageCrossAttention = true, Bf16MinRows = 1 };
        using var cross = ShapePlanner.Plan(g, crossRes, shapes);
        Assert.Equal(2, cross.Steps.Count(Fused));
        Assert.Single(cross.Steps, s => Fused(s) && s.Detail!.Contains("q18k16d64"));

        // the forward issue 13 measures: FP8 linears (quantized from the bf16 weights) before the norms, as at full size
        var fp8 = RandomWanGraph(64, new VisualGen.Exporter.Quantization.QuantizedLinears(
            new VisualGen.Quantization.QuantizationConfig(VisualGen.Quantization.QuantAlgo.Fp8, []), fromCheckpoint: false));
        using var fp8Res = new EngineResources { Attention = AttentionPrecision.Sage };
        using var fp8Plan = ShapePlanner.Plan(fp8, fp8Res, shapes);
        Assert.Contains(fp8Plan.Steps, s => Fused(s) && s.Detail!.Contains("q18k18d64"));

        // Q scaled per 32 queries (the fused kernel scales per 16), or heads the Sage kernel does not take (16 wide):
        // nothing waits, the norms keep their own steps
        using var coarseRes = new EngineResources { Attention = AttentionPrecision.Sage, SageBlocks = new VisualGen.Quantization.SageScaleBlocks(32, 64) };
        using var coarse = ShapePlanner.Plan(g, coarseRes, shapes);
        Assert.DoesNotContain(coarse.Steps, Fused);
        Assert.Contains(coarse.Steps, s => s.Name == qNorm);
        using var res16 = new EngineResources { Attention = AttentionPrecision.Sage };
        using var bf16Res16 = new EngineResources { Attention = AttentionPrecision.Bf16 };
        var g16 = RandomWanGraph(16);
        using var plan16 = ShapePlanner.Plan(g16, res16, shapes);
        using var bf16Plan16 = ShapePlanner.Plan(g16, bf16Res16, shapes);
        Assert.Equal(bf16Plan16.Steps.Select(s => s.Name).Order(StringComparer.Ordinal), plan16.Steps.Select(s => s.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Sage_plans_record_their_blocks_and_workspace()
    {
        using var res = new EngineResources { Attention = AttentionPrecision.Sage, SageBlockQ = 64, SageBlockK = 128 };
        Assert.True(res.SageAttention(32760, 32760, 128));
        Assert.True(res.SageAttention(4608, 4608, 64));
        Assert.False(res.SageAttention(32760, 512, 128));   // cross-attention
        Assert.False(res.SageAttention(4096, 4096, 96));    // no kernel for this head size
        using var fp8 = new EngineResources { Attention = AttentionPrecision.Fp8 };
        Assert.False(fp8.SageAttention(32760, 32760, 128));
        var p = res.SagePlan(2, 12, 12, 32760, 32760, 128, 0);
        Assert.Equal((64, 128), (p.BlockQ, p.BlockK));
        Assert.Same(p, res.SagePlan(2, 12, 12, 32760, 32760, 128, 0));
        // Wan 1.3B with CFG: q, k and v as int8 / e4m3 over a sequence padded to 32768 (3 x 96 MiB), plus scales and the
        // K-mean partials (attention_sage.cu's layout)
        Assert.Equal(305_405_952L, p.WorkspaceBytes);
        var d = new EngineResources { Attention = AttentionPrecision.Sage }.SagePlan(1, 2, 2, 18, 18, 64, 0);
        Assert.Equal((64, 64), (d.BlockQ, d.BlockK));
        Assert.Equal(51_712L, d.WorkspaceBytes);
    }

    [ConformanceFact]
    public void Flux_and_qwen_image_transformers_plan_with_position_inputs_folded()
    {
        // FLUX: img_ids/txt_ids feed a float64 MatMul + cos/sin (FluxPosEmbed); Qwen-Image: img_shapes feeds the
        // RoPE table gathers. Both are plan-time inputs: their tables become host uploads, no device input.
        foreach (var (fam, ropeTokens, shapes, values) in new (string, long, Dictionary<string, long[]>, Dictionary<string, HostTensor>)[]
        {
            ("flux1", 16 + 12, new() { ["hidden_states"] = [1, 12, 16], ["encoder_hidden_states"] = [1, 16, 32], ["pooled_projections"] = [1, 32], ["timestep"] = [1], ["guidance"] = [1] },
                new() { ["img_ids"] = HostTensor.Float32(Enumerable.Range(0, 36).Select(i => (float)(i % 3 == 0 ? 0 : i / 3 % 4)).ToArray(), 12, 3), ["txt_ids"] = HostTensor.Zeros(16, 3) }),
            ("qwenimage", 12, new() { ["hidden_states"] = [1, 12, 64], ["encoder_hidden_states"] = [1, 84, 32], ["timestep"] = [1] },
                new() { ["img_shapes"] = HostTensor.Int64([1, 3, 4], 3) }),
        })
        {
            string model = Fixtures.Checkpoint(fam);
            var index = ModelIndex.Load(model);
            var exporter = VisualGen.Exporter.Export.ComponentExporterRegistry.CreateDefault().Get(index, "transformer");
            string dir = index.ComponentDirectory("transformer");
            string path = Path.Combine(Fixtures.TempDir("cuda-" + fam), "model.onnx");
            using (var weights = ComponentWeights.Open(dir))
                new OnnxWriter().Write(exporter.Trace(new VisualGen.Exporter.Export.TraceContext(index, "transformer", dir, weights, "")), path);
            var (g, report) = CudaBackend.Compile(path);
            Assert.Equal(values.Keys.Order(), g.Inputs.Where(i => i.PlanTime).Select(i => i.Name).Order());
            Assert.True(report.Counts.GetValueOrDefault("VgRmsNormRope") > 0, $"{fam}: {report}");
            // the newer families' fusions leave these GPU-verified graphs as they were
            Assert.DoesNotContain(report.Counts.Keys, k => k is "VgRopeRotateHalf" or "VgSwiGlu" or "VgSiluMul" or "Attention(mask broadcast)");
            foreach (var (k, v) in values) shapes[k] = v.Shape;
            using var res = new EngineResources();
            using var plan = ShapePlanner.Plan(g, res, shapes, values);
            Assert.DoesNotContain(plan.Inputs.Keys, k => values.ContainsKey(k));
            Assert.Equal(12, plan.Outputs["sample"].Shape[1]);
            // the (joint or image) RoPE tables [tokens, head_dim/2] are computed at plan time and uploaded
            Assert.Contains(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { ropeTokens, 8 }));
            Assert.Contains("read when a shape is planned", Assert.Throws<EngineException>(() => ShapePlanner.Plan(g, res, shapes)).Message);
        }
    }

    [Theory]
    [InlineData("bf16", "ort-cpu", "--vae-dtype bf16 runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu, which runs the VAE in fp32)")]
    [InlineData("bf16", null, "--vae-dtype bf16 runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu, which runs the VAE in fp32)")]
    [InlineData("fp16", "native-cuda", "unknown VAE dtype 'fp16'; available: fp32, bf16")]
    public void Vae_dtype_flag_is_checked(string flag, string? engine, string message)
    {
        var e = Assert.Throws<VisualGen.Exporter.Commands.UsageException>(() => VisualGen.Exporter.Commands.Runtime.VaePrecision(flag, engine));
        Assert.Equal(message, e.Message);
        Assert.Equal(VisualGen.Exporter.Commands.Runtime.NativePrecision.Float32, VisualGen.Exporter.Commands.Runtime.VaePrecision(null, "native-cuda"));
        Assert.Equal(VisualGen.Exporter.Commands.Runtime.NativePrecision.Float32, VisualGen.Exporter.Commands.Runtime.VaePrecision("fp32", null));
    }

    [Theory]
    [InlineData(null, long.MaxValue)]
    [InlineData("bf16", 64L)]
    public void Vae_dtype_picks_the_vae_classes_backend(string? vaeDtype, long vaeBf16MinRows)
    {
        using var provider = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(Path.GetTempPath(), "native-cuda", null, vaeDtypeFlag: vaeDtype);
        foreach (var vae in new[] { "AutoencoderKLWan", "AutoencoderKL", "AutoencoderKLQwenImage", "AutoencoderKLFlux2" })
            Assert.Equal(vaeBf16MinRows, Assert.IsType<VisualGen.Engines.Cuda.CudaBackend>(provider.ClassBackends[vae]).Bf16MinRows);
        Assert.Equal(64L, Assert.IsType<VisualGen.Engines.Cuda.CudaBackend>(provider.ClassBackends["WanTransformer3DModel"]).Bf16MinRows);
    }

    [Theory]
    [InlineData("fp8", "ort-cpu", "--attention fp8 runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu)")]
    [InlineData("fp8", null, "--attention fp8 runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu)")]
    [InlineData("sage", "ort-cuda", "--attention sage runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cuda)")]
    [InlineData("sage", null, "--attention sage runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu)")]
    [InlineData("int8", "native-cuda", "unknown attention precision 'int8'; available: bf16, fp8, sage, sage:QxK")]
    [InlineData("sage:32x128", "ort-cpu", "--attention sage:32x128 runs on the native CUDA engine; add --engine native-cuda (the engine is ort-cpu)")]
    public void Attention_flag_is_checked(string flag, string? engine, string message)
    {
        var e = Assert.Throws<VisualGen.Exporter.Commands.UsageException>(() => VisualGen.Exporter.Commands.Runtime.Attention(flag, engine));
        Assert.Equal(message, e.Message);
        Assert.Equal(AttentionPrecision.Fp8, VisualGen.Exporter.Commands.Runtime.Attention("fp8", "native-cuda"));
        Assert.Equal(AttentionPrecision.Sage, VisualGen.Exporter.Commands.Runtime.Attention("sage", "native-cuda"));
        Assert.Equal(AttentionPrecision.Bf16, VisualGen.Exporter.Commands.Runtime.Attention(null, "native-cuda"));
        Assert.Equal(AttentionPrecision.Sage, VisualGen.Exporter.Commands.Runtime.Attention("sage:32x128", "native-cuda"));
    }

    [Fact]
    public void Sage_scale_blocks_reach_the_cuda_backends_and_bad_ones_are_refused()
    {
        using var provider = VisualGen.Exporter.Commands.Runtime.CreateEngineProvider(Path.GetTempPath(), "native-cuda", null, "sage:32x128");
        var backend = Assert.IsType<VisualGen.Engines.Cuda.CudaBackend>(provider.ClassBackends["WanTransformer3DModel"]);
        Assert.Equal((AttentionPrecision.Sage, 32, 128), (backend.Attention, backend.SageBlocks.Query, backend.SageBlocks.Key));
        Assert.Equal(VisualGen.Quantization.SageScaleBlocks.Default,
            VisualGen.Exporter.Commands.Runtime.SageBlocks("sage"));
        foreach (var (flag, message) in new[]
        {
            ("sage:24x64", "--attention sage:24x64: Sage attention's query block size (tokens per Q scale) must be one of 16, 32, 64, 128; got 24"),
            ("sage:16", "--attention sage:16: Sage scale blocks are written QxK (query tokens x key tokens per INT8 scale, e.g. 16x64); got '16'"),
        })
            Assert.StartsWith(message, Assert.Throws<VisualGen.Exporter.Commands.UsageException>(() => VisualGen.Exporter.Commands.Runtime.SageBlocks(flag)).Message);
    }
}
