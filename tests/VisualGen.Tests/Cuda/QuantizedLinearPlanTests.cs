using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Engines.Cuda.Runtime;
using Tracer = VisualGen.Exporter.Graph.Tracer;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Exporter.Quantization;
using VisualGen.Quantization;
using VisualGen.Tests.Quantization;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>The native CUDA engine builds and plans the exporter's quantized Wan transformers without a GPU (dry-run
/// plans): every quantized linear becomes one VgQuantLinear that keeps the stored codes (FP8: 1 byte per weight;
/// NVFP4: half a byte plus an e4m3 scale per 16), no dequantize op is left, and each scheme plans its device steps.
/// A GPU that cannot run a scheme is an error naming the scheme and the GPU.</summary>
public class QuantizedLinearPlanTests
{
    static readonly string[] QuantOps = ["QuantizeLinear", "DequantizeLinear", "BitwiseAnd", "BitShift", "Gather"];

    /// <summary>Exports the transformer in <paramref name="dir"/> under <paramref name="quantization"/> and compiles it.</summary>
    static (OpGraph Graph, FusionReport Report) Compile(string dir, QuantizedLinears? quantization)
    {
        using var weights = ComponentWeights.Open(dir);
        string path = Path.Combine(Fixtures.TempDir("cuda-quant"), "model.onnx");
        new OnnxWriter().Write(WanTransformer3D.Trace(dir, weights, quantization: quantization), path);
        return CudaBackend.Compile(path);
    }

    static (OpGraph Graph, FusionReport Report, int Quantized) CompileFixture(string family)
    {
        string dir = Path.Combine(Fixtures.Checkpoint(family), "transformer");
        var config = QuantizationConfig.FromComponentConfig(Path.Combine(dir, "config.json"))!;
        var q = new QuantizedLinears(config, fromCheckpoint: true);
        var (g, r) = Compile(dir, q);
        return (g, r, q.Quantized.Count);
    }

    static (OpGraph Graph, FusionReport Report, int Quantized) CompileDynamic(QuantAlgo algo)
    {
        string dir = Path.Combine(QuantizeModelRoundTripTests.TinyModel(), "transformer");
        var q = new QuantizedLinears(new QuantizationConfig(algo, []), fromCheckpoint: false);
        var (g, r) = Compile(dir, q);
        return (g, r, q.Quantized.Count);
    }

    static List<OpNode> QuantLinears(OpGraph g) => g.Nodes.Where(n => n.Op == "VgQuantLinear").ToList();

    static ShapePlan Plan(OpGraph g, EngineResources res, long tokens = 5) => ShapePlanner.Plan(g, res, new Dictionary<string, long[]>
    {
        ["hidden_states"] = [1, 16, 2, 4, 4], ["timestep"] = [1], ["encoder_hidden_states"] = [1, tokens, 32],
    });

    [ConformanceFact]
    public void Static_fp8_transformer_fuses_every_linear_with_its_input_scale_and_keeps_one_byte_per_weight()
    {
        var (g, report, quantized) = CompileFixture("wan21_t2v_fp8");
        Assert.True(quantized > 0);
        var linears = QuantLinears(g);
        Assert.Equal(quantized, linears.Count);
        Assert.Equal(quantized, report.Counts["VgQuantLinear(FP8, static input scale)"]);
        Assert.DoesNotContain(g.Nodes, n => QuantOps.Contains(n.Op));
        foreach (var n in linears)
        {
            Assert.Equal(QuantScheme.Fp8, n.Text("scheme", ""));
            var codes = g.Constants[n.In(1)!];
            Assert.Equal(TensorDType.F8E4M3, codes.DType);
            Assert.Equal([n.Int("n", 0), n.Int("k", 0)], codes.Shape);
            Assert.True(EncoderFusion.IsDeviceWeight(codes.Name));
            Assert.Equal(1, g.Constants[n.In(2)!].Count);   // the per-tensor weight scale
            Assert.Equal(1, g.Constants[n.In(3)!].Count);   // the checkpoint's input_scale
        }
        long fp8Bytes = linears.Sum(n => n.Int("n", 0) * n.Int("k", 0));
        long bf16Bytes = g.Constants.Values.Where(c => c.Name.EndsWith("#bf16nk", StringComparison.Ordinal)).Sum(c => c.Count * 2);
        long other = g.Constants.Values.Where(c => EncoderFusion.IsDeviceWeight(c.Name) && !c.Name.EndsWith("#bf16nk", StringComparison.Ordinal)
            && !c.Name.EndsWith(QuantizedLinearFusion.Fp8Codes, StringComparison.Ordinal)).Sum(c => c.Count * c.DType.SizeOf());
        Assert.Equal(fp8Bytes + bf16Bytes + other, EncoderFusion.DeviceWeightBytes(g));

        using var plan = Plan(g, new EngineResources());
        Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
        // one activation quantization per distinct (input, input scale): linears reading the same both share it
        Assert.Equal(linears.Select(n => (n.In(0), n.In(3))).Distinct().Count(), plan.Steps.Count(s => s.Name.EndsWith("/quantize", StringComparison.Ordinal)));
        Assert.Equal(quantized, plan.Steps.Count(s => s.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true));
        Assert.Contains(plan.Values, v => v.DType == VgDType.FP8E4M3);
    }

    [ConformanceFact]
    public void Nvfp4_transformer_keeps_packed_codes_and_e4m3_block_scales_and_unpacks_before_each_gemm()
    {
        var (g, report, quantized) = CompileFixture("wan21_t2v_nvfp4");
        var linears = QuantLinears(g);
        Assert.True(quantized > 0);
        Assert.Equal(quantized, linears.Count);
        Assert.Equal(quantized, report.Counts["VgQuantLinear(NVFP4)"]);
        Assert.DoesNotContain(g.Nodes, n => QuantOps.Contains(n.Op));
        foreach (var n in linears)
        {
            long nn = n.Int("n", 0), k = n.Int("k", 0);
            var packed = g.Constants[n.In(1)!];
            var scales = g.Constants[n.In(2)!];
            Assert.Equal(TensorDType.U8, packed.DType);
            Assert.Equal([nn, k / 2], packed.Shape);
            Assert.Equal(TensorDType.F8E4M3, scales.DType);
            Assert.Equal([nn, k / 16], scales.Shape);
            Assert.Equal(nn * k / 2 + nn * k / 16, packed.Count * packed.DType.SizeOf() + scales.Count * scales.DType.SizeOf());
            Assert.True(EncoderFusion.IsDeviceWeight(packed.Name) && EncoderFusion.IsDeviceWeight(scales.Name));
            Assert.Equal(1, g.Constants[n.In(3)!].Count);   // scale_2
        }
        using var plan = Plan(g, new EngineResources { ComputeCapability = (8, 0) });
        Assert.Equal(quantized, plan.Steps.Count(s => s.Name.EndsWith("/unpack", StringComparison.Ordinal)));
        Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
    }

    [Fact]
    public void Dynamic_fp8_transformer_quantizes_its_activations_on_the_device()
    {
        var (g, report, quantized) = CompileDynamic(QuantAlgo.Fp8);
        Assert.Equal(quantized, report.Counts["VgQuantLinear(FP8)"]);
        Assert.All(QuantLinears(g), n => Assert.Null(n.In(3)));   // no static input scale: amax on the device
        Assert.Equal(QuantLinears(g).Sum(n => n.Int("n", 0) * n.Int("k", 0)),
            g.Constants.Values.Where(c => c.Name.EndsWith(QuantizedLinearFusion.Fp8Codes, StringComparison.Ordinal)).Sum(c => c.Count * c.DType.SizeOf()));
        using var plan = Plan(g, new EngineResources { ComputeCapability = (8, 9) });
        // q, k and v of each attention read one input: it is quantized once for the three
        int inputs = QuantLinears(g).Select(n => n.In(0)).Distinct().Count();
        Assert.True(inputs < quantized, $"{inputs} distinct inputs of {quantized} linears");
        Assert.Equal(inputs, plan.Steps.Count(s => s.Name.EndsWith("/quantize", StringComparison.Ordinal)));
        Assert.Equal(quantized, plan.Steps.Count(s => s.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true));
    }

    [Fact]
    public void Dynamic_fp8_activations_are_quantized_per_row_into_per_row_scaled_gemms_when_asked_and_norms_write_them()
    {
        var (g, _, quantized) = CompileDynamic(QuantAlgo.Fp8);
        using var plan = Plan(g, new EngineResources { Fp8RowActivations = true });
        int inputs = QuantLinears(g).Select(n => n.In(0)).Distinct().Count();
        // a norm read only by FP8 linears (Wan's norm1 for q, k, v; norm2 for the cross-attention's q; norm3 for the FFN)
        // writes their codes and row scales itself: no bf16 output, no quantization step of its own
        var consumers = g.Consumers();
        var normsIntoFp8 = g.Nodes.Where(n => n.Op == "VgNorm" && consumers[n.Outputs[0]].All(r => r.Op == "VgQuantLinear")).ToList();
        Assert.True(normsIntoFp8.Count >= 3, $"{normsIntoFp8.Count} norms feed only FP8 linears");
        // (alone, or in one pass with the residual whose sum it reads: "residual+norm")
        Assert.Equal(normsIntoFp8.Count, plan.Steps.Count(s => s.Name.EndsWith("/fp8_rows", StringComparison.Ordinal)
            || normsIntoFp8.Any(n => s.Name.EndsWith("+" + n.Name, StringComparison.Ordinal))));
        Assert.DoesNotContain(plan.Values, v => normsIntoFp8.Any(n => n.Outputs[0] == v.Name));
        Assert.Equal(inputs, plan.Steps.Count(s => s.Name.EndsWith("/quantize", StringComparison.Ordinal)) + normsIntoFp8.Count);
        var gemms = plan.Steps.Where(s => s.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(quantized, gemms.Count);
        // every GEMM plan has per-row scaling (s2) with the fast accumulation's flag as configured (off here)
        Assert.All(gemms, s => Assert.Matches(@"^fp8m\d+n\d+k\d+s2e\d$", s.Detail!));
        // the row scales: one float per token row of each quantized input
        long rows = plan.Values.Where(v => v.DType == VgDType.FP8E4M3).Select(v => v.Shape[0]).Max();
        Assert.Contains(plan.Values, v => v.DType == VgDType.F32 && v.Shape.SequenceEqual(new[] { rows }));
    }

    /// <summary>With the fused GELU epilogue on (Hopper), each FFN up projection (a GELU read only by the down
    /// projection's per-row FP8 GEMM) is one step whose GEMM writes the down projection's codes and row scales: no bf16
    /// product, no GELU + quantization pass, and the down projection reads those codes. Off, or on a GPU without the
    /// kernel, the two-pass path runs, and the quantization log says why.</summary>
    [Fact]
    public void Ffn_up_projection_writes_the_down_projections_codes_in_its_gemm_epilogue()
    {
        var (g, _, quantized) = CompileDynamic(QuantAlgo.Fp8);
        var ups = QuantLinears(g).Where(n => n.Int("epilogue", 0) is 2 or 3).ToList();
        Assert.NotEmpty(ups);
        // (bf16 activations from the first row: the tiny model's 8 tokens would otherwise run in fp32)
        using var fused = Plan(g, new EngineResources { Fp8RowActivations = true, Fp8GeluEpilogue = true, Bf16MinRows = 1 });
        foreach (var up in ups)
        {
            int at = fused.Steps.FindIndex(s => s.Name == up.Name + "/gelu/fp8_rows");
            Assert.True(at >= 0, $"no fused step for {up.Name}");
            Assert.DoesNotContain(fused.Values, v => v.Name == up.Outputs[0] || v.Name == up.Outputs[0] + "#bf16");
            // the codes it writes ([rows, n] e4m3) live until the down projection's GEMM has read them
            var codes = Assert.Single(fused.Values, v => v.Def == at && v.DType == VgDType.FP8E4M3);
            Assert.Equal(up.Int("n", 0), codes.Shape[^1]);
            Assert.Equal($"fp8gelum{codes.Shape[0]}n{up.Int("n", 0)}k{up.Int("k", 0)}", fused.Steps[at].Detail);
            var down = g.Consumers()[up.Outputs[0]].Single();
            int downAt = fused.Steps.FindIndex(s => s.Name == down.Name);
            Assert.True(downAt > at && codes.LastUse >= downAt, $"codes of {up.Name} used until {codes.LastUse}, the down projection at {downAt}");
        }
        Assert.DoesNotContain(fused.Steps, s => s.Name.EndsWith("/gelu/quantize", StringComparison.Ordinal));
        Assert.Equal(quantized - ups.Count, fused.Steps.Count(s => s.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true));

        using var twoPass = Plan(g, new EngineResources { Fp8RowActivations = true, Fp8GeluEpilogue = false, Bf16MinRows = 1 });
        Assert.Equal(ups.Count, twoPass.Steps.Count(s => s.Name.EndsWith("/gelu/quantize", StringComparison.Ordinal)));
        Assert.DoesNotContain(twoPass.Steps, s => s.Name.EndsWith("/gelu/fp8_rows", StringComparison.Ordinal));

        var reported = new List<string>();
        var ada = new EngineResources { Fp8RowActivations = true, Fp8GeluEpilogue = true, ComputeCapability = (8, 9), Bf16MinRows = 1,
            Log = new VisualGen.Exporter.Commands.LineProgress(reported.Add) };
        using var onAda = Plan(g, ada);
        Assert.DoesNotContain(onAda.Steps, s => s.Name.EndsWith("/gelu/fp8_rows", StringComparison.Ordinal));
        Assert.Equal(ups.Count, onAda.Steps.Count(s => s.Name.EndsWith("/gelu/quantize", StringComparison.Ordinal)));
        Assert.Contains(ada.QuantLog, l => l.Contains("not in its GEMM's epilogue") && l.Contains("Hopper"));
        // the user's log hears it once per kind: the blocks' FFN up projections as blocks.*/
        var told = reported.Where(l => l.Contains("not in its GEMM's epilogue")).ToList();
        Assert.All(told, l => Assert.StartsWith("native-cuda: ", l));
        var kinds = ada.QuantLog.Where(l => l.Contains("not in its GEMM's epilogue"))
            .Select(l => System.Text.RegularExpressions.Regex.Replace(l, @"\.\d+/", ".*/")).Distinct().ToList();
        Assert.Equal(kinds.Select(k => "native-cuda: " + k), told);
    }

    /// <summary>Under Sage attention with FP8 cross-attention on, each cross-attention (q a weight-only RMSNorm of the
    /// video's tokens, k and v the text's) is cuDNN's FP8 kernel: the norm writes q's codes with a scale block made at plan
    /// time from its weight (sqrt(C) · max|g| · (1 + 1/64) / 448), and the O projection's per-tensor FP8 GEMM reads the
    /// attention's codes (no bf16 output, no quantization pass for it). Off, the cross-attention stays bf16.</summary>
    [Fact]
    public void Cross_attention_runs_fp8_into_its_o_projection_under_sage_attention()
    {
        var (g, _, _) = CompileDynamic(QuantAlgo.Fp8);
        var consumers = g.Consumers();
        var producers = g.Producers();
        // cross-attentions: q from a weight-only RMS norm, the output read by one FP8 linear (the O projection)
        var cross = g.Nodes.Where(n => n.Op == "Attention" && producers.TryGetValue(n.In(0)!, out var p) && p.Op == "VgNorm"
            && p.Int("kind", 0) == 1 && p.In(2) is null).ToList();
        Assert.NotEmpty(cross);
        var res = new EngineResources { Attention = AttentionPrecision.Sage, Fp8CrossAttention = true, Fp8RowActivations = true, Bf16MinRows = 1 };
        using var plan = Plan(g, res);
        foreach (var a in cross)
        {
            var norm = producers[a.In(0)!];
            var oProj = Assert.Single(consumers[a.Outputs[0]]);
            Assert.Contains(plan.Steps, s => s.Name == norm.Name + "/fp8");
            Assert.DoesNotContain(plan.Steps, s => s.Name == norm.Name);
            var step = Assert.Single(plan.Steps, s => s.Name == a.Name);
            Assert.EndsWith("fp8", step.Detail);
            Assert.DoesNotContain(plan.Values, v => v.Name == a.Outputs[0]);
            Assert.DoesNotContain(plan.Steps, s => s.Name == oProj.Name + "/quantize");
            Assert.Matches(@"^fp8m\d+n\d+k\d+s0e\d", Assert.Single(plan.Steps, s => s.Name == oProj.Name).Detail!);
            // q's scale block: [DEQUANT] = sqrt(C) · max|g| · (1 + 1/64) / 448, [QUANT] its inverse
            // (the norm's weight: a constant, or a cast of one)
            string wName = norm.In(1)!;
            var wConst = g.Constants.TryGetValue(wName, out var direct) ? direct : g.Constants[producers[wName].In(0)!];
            var weight = wConst.ToDoubles();
            long c = wConst.Count;
            double s = Math.Sqrt(c) * weight.Max(Math.Abs) * (1 + 1.0 / 64) / 448;
            var block = Assert.Single(plan.HostUploads, u => u.Value.Name == a.Name + "/q_scale#const").Data;
            Assert.Equal((float)s, block[0]);
            Assert.Equal((float)(1 / s), block[4]);
        }
        using var bf16 = Plan(g, new EngineResources { Attention = AttentionPrecision.Sage, Fp8CrossAttention = false, Fp8RowActivations = true, Bf16MinRows = 1 });
        Assert.All(cross, a => Assert.DoesNotContain("fp8", Assert.Single(bf16.Steps, s => s.Name == a.Name).Detail ?? ""));
        Assert.All(cross, a => Assert.Contains(bf16.Values, v => v.Name == a.Outputs[0]));
        // bf16 linears: the O projection would read the output dequantized, so the cross-attention stays bf16
        var plain = Compile(Path.Combine(QuantizeModelRoundTripTests.TinyModel(), "transformer"), null).Graph;
        using var unquantized = Plan(plain, new EngineResources { Attention = AttentionPrecision.Sage, Fp8CrossAttention = true, Bf16MinRows = 1 });
        var plainCross = plain.Nodes.Where(n => n.Op == "Attention" && plain.Producers().TryGetValue(n.In(0)!, out var p) && p.Op == "VgNorm").ToList();
        Assert.NotEmpty(plainCross);
        Assert.All(plainCross, a => Assert.DoesNotContain("fp8", Assert.Single(unquantized.Steps, s => s.Name == a.Name).Detail ?? ""));
        Assert.All(plainCross, a => Assert.Contains(unquantized.Values, v => v.Name == a.Outputs[0]));
    }

    /// <summary>The per-row scaled GEMM reads its weight scale as one float per output feature: each dynamic FP8 linear's
    /// per-tensor scale (a constant of the graph) repeated n times, uploaded with the plan's constants (no kernel per GEMM
    /// makes it); linears sharing a scale share the vector. Per-tensor GEMMs keep the one float.</summary>
    [Fact]
    public void Per_row_fp8_gemms_read_their_weight_scale_per_output_feature()
    {
        var (g, _, _) = CompileDynamic(QuantAlgo.Fp8);
        using var rows = Plan(g, new EngineResources { Fp8RowActivations = true });
        var linears = QuantLinears(g).ToDictionary(n => n.Name);
        Assert.NotEmpty(rows.Fp8Gemms);
        foreach (var call in rows.Fp8Gemms)
        {
            var node = linears.Values.Single(n => call.Out.Name.StartsWith(n.Outputs[0], StringComparison.Ordinal));
            long n = node.Int("n", 0);
            Assert.Equal(new[] { n }, call.WScale.Shape);
            var upload = Assert.Single(rows.HostUploads, u => u.Value == call.WScale);
            float scale = (float)g.Constants[node.In(2)!].ToDoubles()[0];
            Assert.All(upload.Data, v => Assert.Equal(scale, v));
        }
        Assert.Equal(rows.Fp8Gemms.Select(c => c.WScale).Distinct().Count(), QuantLinears(g).Select(n => n.In(2)).Distinct().Count());
        using var tensor = Plan(g, new EngineResources { Fp8RowActivations = false });
        Assert.All(tensor.Fp8Gemms, c => Assert.Equal(1, c.WScale.Count));
    }

    /// <summary>Wan's residuals and the norms that read their sums: the gated self-attention residual with the affine
    /// norm2, the cross-attention's plain residual with norm3, the gated FFN residual with the next block's norm1 are
    /// each one step (vg_residual_norm) writing the sum and the norm's output (FP8 codes and row scales where FP8 linears
    /// read it); no norm of those runs as a step of its own, and no residual step is left whose sum a norm reads.</summary>
    [Fact]
    public void Residuals_and_the_norms_reading_them_are_planned_as_one_pass()
    {
        foreach (bool fp8 in new[] { false, true })
        {
            var g = fp8 ? CompileDynamic(QuantAlgo.Fp8).Graph : Compile(Path.Combine(QuantizeModelRoundTripTests.TinyModel(), "transformer"), null).Graph;
            using var plan = Plan(g, new EngineResources { Fp8RowActivations = true });
            var producers = g.Producers();
            var order = g.Nodes.Select((n, i) => (n, i)).ToDictionary(t => t.n, t => t.i);
            // a norm whose modulation is computed after the residual (Wan's output norm) is planned on its own
            bool InputsReady(OpNode norm, OpNode residual) => Enumerable.Range(1, 4).All(i =>
                norm.In(i) is not string v || !producers.TryGetValue(v, out var p) || order[p] < order[residual]);
            var pairs = g.Nodes.Where(n => n.Op == "VgNorm" && producers.TryGetValue(n.In(0)!, out var p) && p.Op is "VgGatedResidual" or "Add")
                .Select(n => (Residual: producers[n.In(0)!], Norm: n)).Where(p => InputsReady(p.Norm, p.Residual)).ToList();
            int blocks = g.Nodes.Count(n => n.Op == "VgRmsNormRope") / 2;  // q and k of each block's self-attention
            Assert.True(pairs.Count >= 3 * blocks - 1, $"{pairs.Count} residual -> norm pairs in {blocks} blocks");
            foreach (var (residual, norm) in pairs)
            {
                Assert.Contains(plan.Steps, s => s.Name == residual.Name + "+" + norm.Name);
                Assert.DoesNotContain(plan.Steps, s => s.Name == norm.Name || s.Name == norm.Name + "/fp8_rows" || s.Name == residual.Name);
            }
            // the sums stay values of the plan (the next residual reads them); norm outputs read only by FP8 linears do not
            Assert.All(pairs, p => Assert.Contains(plan.Values, v => v.Name == p.Residual.Outputs[0]));
            if (fp8) Assert.Contains(pairs, p => !plan.Values.Any(v => v.Name == p.Norm.Outputs[0]));
        }
    }

    [ConformanceFact]
    public void A_static_input_scale_keeps_per_tensor_activations_under_per_row_scaling()
    {
        var (g, _, quantized) = CompileFixture("wan21_t2v_fp8");
        using var plan = Plan(g, new EngineResources { Fp8RowActivations = true });
        var gemms = plan.Steps.Where(s => s.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true).ToList();
        Assert.Equal(quantized, gemms.Count);
        Assert.All(gemms, s => Assert.Contains("s0e", s.Detail!));
    }

    [Fact]
    public void Fp8_block_scales_transformer_pads_its_block_scales_and_groups_its_activations()
    {
        var (g, report, quantized) = CompileDynamic(QuantAlgo.Fp8Block);
        Assert.True(quantized > 0);
        Assert.Equal(quantized, report.Counts["VgQuantLinear(FP8_BLOCK_SCALES)"]);
        foreach (var n in QuantLinears(g))
        {
            long nn = n.Int("n", 0), k = n.Int("k", 0);
            Assert.Equal((TensorDType.F8E4M3, nn * k), (g.Constants[n.In(1)!].DType, g.Constants[n.In(1)!].Count));
            var scales = g.Constants[n.In(2)!];
            Assert.Equal([nn / 128, (k / 128 + 3) / 4 * 4], scales.Shape);
            var values = scales.ToDoubles();
            Assert.All(values.Where((_, i) => i % scales.Shape[1] >= k / 128), v => Assert.Equal(1.0, v));   // the padding
            Assert.All(values.Where((_, i) => i % scales.Shape[1] < k / 128), v => Assert.True(v > 0));
        }
        // 5 text tokens: the cross-attention's k/v linears have 5 rows, padded to 8 for the block-scaled GEMM
        using var plan = Plan(g, new EngineResources());
        Assert.Contains(plan.Steps, s => s.Detail?.StartsWith("fp8m8n", StringComparison.Ordinal) == true);
        Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
    }

    [Fact]
    public void Nvfp4_on_fp4_tensor_cores_quantizes_activations_where_the_gemm_takes_the_shape_and_logs_the_rest()
    {
        var (g, _, quantized) = CompileDynamic(QuantAlgo.Nvfp4);
        var linears = QuantLinears(g);
        Assert.Equal(quantized, linears.Count);
        // the FP4 GEMM's rule: in features a multiple of 64, out features of 16; the rest run weight-only
        bool Fits(OpNode n) => n.Int("k", 0) % 64 == 0 && n.Int("n", 0) % 16 == 0;
        var onTensorCores = linears.Where(Fits).ToList();
        Assert.InRange(onTensorCores.Count, 1, quantized - 1);   // the tiny model has both kinds
        var res = new EngineResources { ComputeCapability = (10, 0) };
        using (var plan = Plan(g, res))
        {
            Assert.Equal(onTensorCores.Count, plan.Steps.Count(s => s.Detail?.StartsWith("nvfp4m", StringComparison.Ordinal) == true));
            Assert.Equal(onTensorCores.Select(n => n.In(0)).Distinct().Count(), plan.Steps.Count(s => s.Name.EndsWith("/quantize", StringComparison.Ordinal)));
            Assert.Equal(quantized - onTensorCores.Count, plan.Steps.Count(s => s.Name.EndsWith("/unpack", StringComparison.Ordinal)));
            Assert.Equal(quantized - onTensorCores.Count, res.QuantLog.Count);
            Assert.All(res.QuantLog, l => Assert.Contains("weight-only, not on FP4 tensor cores: the FP4 GEMM needs in features a multiple of 64", l));
            Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
        }
        // another shape plans the same linears: the log says each once
        using (Plan(g, res, tokens: 7)) Assert.Equal(quantized - onTensorCores.Count, res.QuantLog.Count);
        // Hopper, and Blackwell with Nvfp4WeightOnly: every NVFP4 linear unpacks its weight, no activation is quantized
        foreach (var weightOnly in new[] { new EngineResources { ComputeCapability = (9, 0) }, new EngineResources { ComputeCapability = (10, 0), Nvfp4WeightOnly = true } })
        {
            using var plan = Plan(g, weightOnly);
            Assert.Equal(quantized, plan.Steps.Count(s => s.Name.EndsWith("/unpack", StringComparison.Ordinal)));
            Assert.DoesNotContain(plan.Steps, s => s.Name.EndsWith("/quantize", StringComparison.Ordinal));
            Assert.Empty(weightOnly.QuantLog);
        }
    }

    [Theory]
    [InlineData("FP8", 8, 6, "compute capability 8.6", "need compute capability 8.9 or newer")]
    [InlineData("FP8_BLOCK_SCALES", 8, 9, "compute capability 8.9", "run on Hopper (compute capability 9.0) only")]
    [InlineData("FP8_BLOCK_SCALES", 10, 0, "compute capability 10.0", "run on Hopper (compute capability 9.0) only")]
    public void A_gpu_that_cannot_run_the_scheme_is_named_when_a_shape_is_planned(string algo, int major, int minor, string gpu, string why)
    {
        var (g, _, _) = CompileDynamic(QuantAlgo.All.Single(a => a.Name == algo));
        var e = Assert.Throws<EngineException>(() => Plan(g, new EngineResources { ComputeCapability = (major, minor), DeviceName = "Test GPU" }));
        Assert.Contains($"the {algo} linear cannot run on Test GPU ({gpu})", e.Message);
        Assert.Contains(why, e.Message);
    }

    [ConformanceFact]
    public void Fp8_entry_references_the_checkpoints_codes_as_stored_and_plans_after_reading_back()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v_fp8"), "transformer");
        string file = Path.GetFullPath(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        var config = QuantizationConfig.FromComponentConfig(Path.Combine(dir, "config.json"))!;
        string path = Path.Combine(Fixtures.TempDir("cuda-quant-ref"), "model.onnx");
        using (var weights = ComponentWeights.Open(dir))
            new OnnxWriter { ExternalDataThreshold = 0, InlineLimit = 0, ReferenceCheckpoint = true }
                .Write(WanTransformer3D.Trace(dir, weights, quantization: new QuantizedLinears(config, fromCheckpoint: true)), path);
        var (g, _) = CudaBackend.Compile(path);
        string entry = Fixtures.TempDir("cuda-quant-entry");
        PlanFile.Write(g, entry, new Dictionary<string, byte[]>());
        Assert.Equal([file], PlanFile.ReferencedFiles(entry));
        var (read, _) = PlanFile.Read(entry);
        using var st = SafeTensorsFile.Open(file);
        var codes = read.Constants.Values.Where(c => c.Name.EndsWith(QuantizedLinearFusion.Fp8Codes, StringComparison.Ordinal)).ToList();
        Assert.Equal(QuantLinears(read).Count, codes.Count);
        foreach (var c in codes)
        {
            // one byte per weight, read from the checkpoint file where the e4m3 tensor lies
            Assert.Equal(TensorDType.F8E4M3, c.DType);
            Assert.Equal(file, c.Stored!.Path);
            string key = c.Name[..^QuantizedLinearFusion.Fp8Codes.Length];
            Assert.True(c.Bytes.AsSpan().SequenceEqual(st.GetBytes(key)), $"'{key}' differs from the checkpoint");
        }
        Assert.Equal(EncoderFusion.DeviceWeightBytes(g), EncoderFusion.DeviceWeightBytes(read));
        using var plan = Plan(read, new EngineResources());
        Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
    }

    [Fact]
    public void A_build_that_takes_its_export_moves_the_fp8_codes_into_the_entry_and_reads_back_the_same_constants()
    {
        // dynamic FP8 of a float checkpoint: the codes exist only in the export's data file, which an entry took a copy of
        string dir = Path.Combine(QuantizeModelRoundTripTests.TinyModel(), "transformer");
        string staging = Fixtures.TempDir("cuda-quant-staging"), path = Path.Combine(staging, "model.onnx");
        using (var weights = ComponentWeights.Open(dir))
            new OnnxWriter { ExternalDataThreshold = 0, InlineLimit = 0, ReferenceCheckpoint = true }.Write(
                WanTransformer3D.Trace(dir, weights, quantization: new QuantizedLinears(new QuantizationConfig(QuantAlgo.Fp8, []), fromCheckpoint: false)), path);
        string data = path + ".data";
        long dataBytes = new FileInfo(data).Length;

        string copied = Fixtures.TempDir("cuda-quant-copied"), taken = Fixtures.TempDir("cuda-quant-taken");
        var copy = PlanFile.Write(CudaBackend.Compile(path).Graph, copied, new Dictionary<string, byte[]>());
        var take = PlanFile.Write(CudaBackend.Compile(path).Graph, taken, new Dictionary<string, byte[]>(), ownedDirectory: staging);

        Assert.Equal(0, copy.AdoptedBytes);
        Assert.False(File.Exists(data));  // moved, not copied
        Assert.True(take.AdoptedBytes * 2 >= dataBytes, $"{take.AdoptedBytes} of {dataBytes} bytes taken");
        Assert.Equal(dataBytes - take.AdoptedBytes, take.AdoptedUnusedBytes);
        Assert.True(take.EmbeddedBytes < copy.EmbeddedBytes);
        Assert.Equal(copy.ReferencedBytes, take.ReferencedBytes);
        Assert.Equal(PlanFile.ReferencedFiles(copied), PlanFile.ReferencedFiles(taken));

        var (a, _) = PlanFile.Read(copied);
        var (b, _) = PlanFile.Read(taken);
        Assert.Equal(a.Constants.Keys.Order(), b.Constants.Keys.Order());
        foreach (var (name, c) in a.Constants)
            Assert.True(c.Bytes.AsSpan().SequenceEqual(b.Constants[name].Bytes), $"constant '{name}' differs");
        var codes = b.Constants.Values.Where(c => c.Name.EndsWith(QuantizedLinearFusion.Fp8Codes, StringComparison.Ordinal)).ToList();
        Assert.Equal(QuantLinears(b).Count, codes.Count);
        Assert.All(codes, c => Assert.Equal(Path.Combine(taken, PlanFile.WeightsName), c.Stored!.Path));
        using var plan = Plan(b, new EngineResources());
        Assert.Equal([1L, 16, 2, 4, 4], plan.Outputs["sample"].Shape);
    }

    [Fact]
    public void A_data_file_the_plan_would_use_less_than_half_of_is_copied_from_not_taken()
    {
        string staging = Fixtures.TempDir("cuda-owned"), file = Path.Combine(staging, "model.onnx.data");
        var bytes = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(file, bytes);
        var g = new OpGraph();
        g.Constants["a"] = new ConstTensor("a", TensorDType.U8, [300], () => throw new InvalidOperationException()) { Stored = new FileRange(file, 100, 300) };
        string entry = Fixtures.TempDir("cuda-owned-entry");
        var written = PlanFile.Write(g, entry, new Dictionary<string, byte[]>(), ownedDirectory: staging);
        Assert.Equal(0, written.AdoptedBytes);
        Assert.InRange(written.EmbeddedBytes, 300, 512);  // copied (with its padding to 256 bytes)
        Assert.True(File.Exists(file));
        Assert.Equal(bytes[100..400], PlanFile.Read(entry).Graph.Constants["a"].Bytes);
    }

    [Fact]
    public void A_quantized_weight_outside_the_exporters_patterns_is_a_build_error_naming_the_node()
    {
        // the e4m3 weight dequantized and used as MatMul's [K, N] operand directly (no Transpose of an [N, K] weight)
        var t = new Tracer("odd_quant");
        var x = t.Input("x", TensorDType.F32, "8", "32");
        var codes = t.Initializer("w", TensorDType.F8E4M3, [32, 16], new VisualGen.Exporter.Graph.InlineData(new byte[32 * 16]));
        var w = t.Op("DequantizeLinear", [codes, t.Scalar(0.5f)], outType: TensorDType.F32);
        t.Output(x.MatMul(w), "y", "8", "16");
        string path = Path.Combine(Fixtures.TempDir("cuda-quant-odd"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var e = Assert.Throws<EngineException>(() => CudaBackend.Compile(path));
        Assert.Contains("node(s) of quantized linears are not in a pattern the native CUDA engine runs", e.Message);
        Assert.Contains("(DequantizeLinear)", e.Message);
        Assert.Contains("--engine ort-cpu or ort-cuda", e.Message);
    }

    [ConformanceFact]
    public void Unquantized_transformer_still_compiles()
    {
        string dir = Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer");
        using var weights = ComponentWeights.Open(dir);
        string path = Path.Combine(Fixtures.TempDir("cuda-quant"), "model.onnx");
        new OnnxWriter().Write(WanTransformer3D.Trace(dir, weights), path);
        var (g, _) = CudaBackend.Compile(path);
        Assert.Contains(g.Nodes, n => n.Op == "VgLinear");
        Assert.DoesNotContain(g.Nodes, n => n.Op == "VgQuantLinear");
    }
}
