using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>The native engine's build and plan of text encoders and VAEs, without a GPU (dry-run plans): what the
/// fusions make of the exporter's graphs and which steps a shape becomes.</summary>
public class EncoderPlanTests
{
    internal static OpGraph Compile(string family, string component, out FusionReportView report)
    {
        string model = Fixtures.Checkpoint(family);
        var index = ModelIndex.Load(model);
        string folder = component.Split('.')[0], part = component.Contains('.') ? component[(component.IndexOf('.') + 1)..] : "";
        var exporter = ComponentExporterRegistry.CreateDefault().Get(index, folder);
        string dir = index.ComponentDirectory(folder);
        string path = Path.Combine(Fixtures.TempDir("enc-" + family), "model.onnx");
        using (var weights = ComponentWeights.Open(dir))
            new OnnxWriter().Write(exporter.Trace(new TraceContext(index, folder, dir, weights, part)), path);
        var (g, r) = CudaBackend.Compile(path);
        report = new FusionReportView(r.Counts);
        return g;
    }

    public sealed record FusionReportView(IReadOnlyDictionary<string, int> Counts)
    {
        public int this[string op] => Counts.GetValueOrDefault(op);
    }

    internal static ShapePlan Plan(OpGraph g, Dictionary<string, long[]> shapes, bool float32, Dictionary<string, HostTensor>? planTime = null) =>
        ShapePlanner.Plan(g, new EngineResources { Bf16MinRows = float32 ? long.MaxValue : 64 }, shapes, planTime);

    [ConformanceFact]
    public void Wan_vae_decoder_runs_convolutions_channel_norms_and_general_attention_in_float32()
    {
        var g = Compile("wan21_t2v", "vae.decoder_first", out var report);
        // every WanRMS_norm is one VgChannelNorm, every SiLU one VgSilu, every Conv3d/Conv2d a cuDNN convolution
        Assert.DoesNotContain(g.Nodes, n => n.Op is "ReduceSum" or "Sqrt" or "Div" or "Sigmoid");
        Assert.Equal(22, report["VgChannelNorm"]);
        Assert.Equal(21, report["VgSilu"]);
        Assert.True(report["Conv(cuDNN)"] >= 27, report.Counts.Count.ToString());
        var plan = Plan(g, new() { ["latents"] = [1, 16, 1, 4, 6] }, float32: true);
        Assert.Equal([1, 3, 1, 32, 48], plan.Outputs["sample"].Shape);
        Assert.All(plan.Values.Where(v => v.DType != VgDType.I64), v => Assert.Equal(VgDType.F32, v.DType));
        Assert.Contains(plan.Steps, s => s.Kind == KernelClass.Conv);
        // the mid-block attention (one head of 16 channels over the 4x6 positions): scores, softmax, values
        Assert.Equal(["decoder/Attention/scores", "decoder/Attention/softmax", "decoder/Attention/values"],
            plan.Steps.Where(s => s.Kind == KernelClass.Attention).Select(s => s.Name));
        // the caches are computed straight into the output buffers, not copied there at the end
        var caches = plan.Outputs.Where(o => o.Key.StartsWith("cache_out.")).ToList();
        Assert.NotEmpty(caches);
        Assert.DoesNotContain(plan.Steps, s => s.Name.StartsWith("cast ") && caches.Any(c => s.Name.Contains(c.Value.Name)));
        Assert.All(caches, c => Assert.True(c.Value.Root.Def >= 0 && c.Value.Root.Persistent, c.Key));
        // ... in the device's shared arena, alive to the plan's end (the run copies them out): the plan's own buffers
        // are its input's
        Assert.True(plan.ArenaBytes >= caches.Sum(c => c.Value.Bytes) + plan.Outputs["sample"].Bytes);
        var outputRoots = plan.Outputs.Values.Select(v => v.Root).ToHashSet();
        long own = plan.Values.Where(v => v.Alias is null && v.Persistent && !outputRoots.Contains(v)).Sum(v => (v.Bytes + 255) / 256 * 256);
        Assert.Equal(plan.ArenaBytes + own, plan.MemoryReport.Planned);
        var nextShapes = caches.ToDictionary(c => "cache." + c.Key["cache_out.".Length..], c => c.Value.Shape);
        plan.Dispose();

        // a later chunk updates its cache in place: each cache_out.X takes the buffer of cache.X, read for the last time
        // (by the causal convolution's concatenation) before the new cache is first written
        var next = Compile("wan21_t2v", "vae.decoder_next", out _);
        nextShapes["latents"] = [1, 16, 1, 4, 6];
        using var later = Plan(next, nextShapes, float32: true);
        Assert.Equal(caches.Count, later.Outputs.Count(o => o.Key.StartsWith("cache_out.")));
        foreach (var (name, o) in later.Outputs.Where(o => o.Key.StartsWith("cache_out.")))
        {
            var input = later.Inputs["cache." + name["cache_out.".Length..]];
            Assert.Same(input, o.Root.Reuses);
            Assert.True(input.LastUse < o.Root.Def, $"{name}: input read at step {input.LastUse}, output written from step {o.Root.Def}");
        }
        Assert.Null(later.Outputs["sample"].Root.Reuses);
        // buffers of their own: the latents, the old caches (holding the new ones after the run) and the sample
        var ports = later.Inputs.Values.Concat(later.Outputs.Values).Select(v => v.Root).Distinct();
        Assert.Equal(caches.Count + 2, ports.Count(v => v.Reuses is null));
    }

    [ConformanceFact]
    public void Wan_vae_encoder_pads_asymmetrically_before_its_strided_convolutions()
    {
        var g = Compile("wan21_t2v", "vae.encoder_first", out _);
        using var plan = Plan(g, new() { ["video"] = [1, 3, 1, 32, 48] }, float32: true);
        Assert.Equal(16, plan.Outputs["latent_mean"].Shape[1]);
        Assert.Equal([1, 4, 6], plan.Outputs["latent_mean"].Shape[2..]);
        // ZeroPad2d((0, 1, 0, 1)) before each stride-2 conv: a zero-fill and a copy into the padded buffer
        Assert.Contains(plan.Steps, s => s.Name.EndsWith("/pad/zero"));
    }

    [ConformanceFact]
    public void Umt5_runs_on_device_ids_with_its_position_bias_and_padding_mask_in_float32()
    {
        var g = Compile("wan21_t2v", "text_encoder", out var report);
        Assert.Equal(1, report["VgGather"]);
        Assert.Equal(0, report["VgSiluMul"] + report["VgSwiGlu"] + report["VgRopeRotateHalf"] + report["Attention(mask broadcast)"]);
        Assert.Equal(TensorDType.I64, g.Inputs.Single(i => i.Name == "input_ids").DType);
        using var plan = Plan(g, new() { ["input_ids"] = [1, 16], ["attention_mask"] = [1, 16] }, float32: false);
        Assert.Equal(VgDType.I64, plan.Inputs["input_ids"].DType);
        Assert.Equal(VgDType.I64, plan.Inputs["attention_mask"].DType);
        Assert.Equal([1, 16, 32], plan.Outputs["last_hidden_state"].Shape);
        // two layers: general attention with the mask (relative bias + padding, fp32) per layer
        Assert.Equal(2, plan.Steps.Count(s => s.Name.EndsWith("/softmax")));
        // the per-layer relative position bias [1, heads, 16, 16] is folded at plan time and uploaded
        Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.Length == 4 && u.Value.Shape[2] == 16 && u.Value.Shape[3] == 16));
        // the masks (bias + padding) stay float32: a bf16 mask would round the bias
        var masks = g.Nodes.Where(n => n.Op == "Attention").Select(n => n.Inputs[3]!).ToHashSet();
        Assert.Equal(2, masks.Count);
        Assert.All(plan.Values.Where(v => masks.Contains(v.Name)), v => Assert.Equal(VgDType.F32, v.DType));
        Assert.Equal(2, plan.Values.Count(v => masks.Contains(v.Name)));
        // at 512 tokens the bias table gather ([512, 512] buckets × 4 heads) runs on the device from uploaded int64 buckets
        using var large = Plan(g, new() { ["input_ids"] = [1, 512], ["attention_mask"] = [1, 512] }, float32: false);
        Assert.Equal(2, large.HostUploadsI64.Count(u => u.Data.Length == 512 * 512));
        Assert.DoesNotContain(large.HostUploads, u => u.Value.Shape.Length == 4);
        var gathers = g.Nodes.Where(n => n.Op == "Gather").Select(n => n.Name).ToHashSet();
        Assert.Equal(2, large.Steps.Count(s => gathers.Contains(s.Name)));
    }

    [ConformanceFact]
    public void Clip_vision_and_the_wan22_residual_vae_plan()
    {
        var clip = Compile("wan21_i2v", "image_encoder", out _);
        using (var plan = Plan(clip, new() { ["pixel_values"] = [1, 3, 32, 32] }, float32: false))
            Assert.Equal(257, plan.Outputs["hidden_state"].Shape[1]);
        var vae = Compile("wan22_ti2v_5b", "vae.decoder_first", out _);
        using (var plan = Plan(vae, new() { ["latents"] = [1, 48, 1, 4, 6] }, float32: true))
            Assert.Equal([1, 3, 1, 64, 96], plan.Outputs["sample"].Shape);
        // the residual encoder's AvgDown3D: ReduceMean over channel groups as strided adds and one scale
        var enc = Compile("wan22_ti2v_5b", "vae.encoder_first", out _);
        Assert.Contains(enc.Nodes, n => n.Op == "ReduceMean");
        using (var plan = Plan(enc, new() { ["video"] = [1, 3, 1, 64, 96] }, float32: true))
        {
            Assert.Equal([1, 48, 1, 4, 6], plan.Outputs["latent_mean"].Shape);
            Assert.Contains(plan.Steps, s => s.Name.EndsWith("ReduceMean/mean"));
        }
    }

    [Fact]
    public void Norms_of_any_width_plan_instead_of_refusing()
    {
        // Wan 2.1 I2V's image embedding can be 12 wide: the vectorized norm kernel takes multiples of 8, the general one the rest
        var t = new VisualGen.Exporter.Graph.Tracer("norm12");
        var x = t.Input("x", TensorDType.F32, "batch", "5", "12");
        t.Output(x.LayerNorm(null, null, 1e-5f, 12), "y", "batch", "5", "12");
        string path = Path.Combine(Fixtures.TempDir("norm12"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var (g, report) = CudaBackend.Compile(path);
        Assert.Equal(1, report.Counts["VgNorm(layer)"]);
        using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["x"] = [2, 5, 12] });
        Assert.Equal([2, 5, 12], plan.Outputs["y"].Shape);
        Assert.Contains(plan.Steps, s => s.Kind == KernelClass.NormRope);
    }

    [Fact]
    public void Causal_masks_built_from_positions_fold_at_plan_time()
    {
        // CLIP's causal mask: Range, Greater, Where over the sequence length — computed when a shape is planned
        var t = new VisualGen.Exporter.Graph.Tracer("causal");
        var q = t.Input("q", TensorDType.F32, "batch", "seq", "16");
        var mask = VisualGen.Exporter.Modules.AttentionMasks.Causal(t, q.Size(1));
        t.Output(VisualGen.Exporter.Graph.AttentionOp.Attention(q, q, q, heads: 2, mask: mask), "y", "batch", "seq", "16");
        string path = Path.Combine(Fixtures.TempDir("causal"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var (g, _) = CudaBackend.Compile(path);
        using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["q"] = [1, 7, 16] });
        var upload = Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 7, 7 }));
        for (int i = 0; i < 7; i++)
            for (int j = 0; j < 7; j++)
                Assert.Equal(j > i ? float.MinValue : 0f, upload.Data[i * 7 + j]);
        Assert.Contains(plan.Steps, s => s.Name.EndsWith("/softmax"));
    }

    [ConformanceFact]
    public void Clip_text_pools_at_the_eos_position_on_the_device()
    {
        // FLUX.1's CLIPTextModel (the fixture's eos_token_id is 637, so the EOS position is the first id equal to it):
        // the attention's is_causal flag becomes a mask when the shape is planned; Equal, ArgMax and GatherND run on the
        // device token ids
        var g = Compile("flux1", "text_encoder", out var report);
        Assert.Equal(1, report["VgGather"]);
        Assert.Equal(0, report["VgSiluMul"] + report["VgSwiGlu"] + report["VgRopeRotateHalf"] + report["Attention(mask broadcast)"]);
        Assert.Contains(g.Nodes, n => n.Op == "Equal");
        Assert.Contains(g.Nodes, n => n.Op == "ArgMax");
        var gnd = Assert.Single(g.Nodes, n => n.Op == "GatherND");
        Assert.Equal(1, gnd.Int("batch_dims", 0));
        using var plan = Plan(g, new() { ["input_ids"] = [2, 77] }, float32: false);
        Assert.Equal([2, 77, 32], plan.Outputs["last_hidden_state"].Shape);
        Assert.Equal([2, 32], plan.Outputs["pooler_output"].Shape);
        // the causal mask [1, 1, 77, 77] is made and uploaded once for every layer, the softmax runs per layer
        Assert.Contains(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 77, 77 }));
        Assert.Equal(2, plan.Steps.Count(s => s.Name.EndsWith("/softmax")));
        // the EOS index: an int64 device value from the ArgMax step, read by the GatherND step
        var argmax = g.Nodes.Single(n => n.Op == "ArgMax");
        Assert.Equal(VgDType.I64, plan.Values.Single(v => v.Name == argmax.Outputs[0]).DType);
        Assert.Equal([2, 1], plan.Values.Single(v => v.Name == argmax.Outputs[0]).Shape);
        Assert.Contains(plan.Steps, s => s.Name == argmax.Name);
        Assert.Contains(plan.Steps, s => s.Name == gnd.Name);
        Assert.Contains(plan.Steps, s => s.Name == g.Nodes.Single(n => n.Op == "Equal").Name);
    }

    [Fact]
    public void Legacy_clip_argmax_of_the_ids_runs_on_the_device_and_folds_for_plan_time_ids()
    {
        // eos_token_id == 2 (FLUX.1-dev's openai CLIP config): the EOS position is the largest id, ArgMax of the int64 ids
        var t = new VisualGen.Exporter.Graph.Tracer("pool");
        var ids = t.Input("input_ids", TensorDType.I64, "batch", "seq");
        var h = t.Input("hidden", TensorDType.F32, "batch", "seq", "8");
        var index = ids.Cast(TensorDType.I32).ArgMax(1, keepDims: true);
        t.Output(h.GatherND(index, batchDims: 1), "pooled", "batch", "8");
        string path = Path.Combine(Fixtures.TempDir("pool"), "model.onnx");
        new OnnxWriter().Write(t.Graph, path);
        var (g, _) = CudaBackend.Compile(path);
        using (var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["input_ids"] = [3, 9], ["hidden"] = [3, 9, 8] }))
        {
            Assert.Equal([3, 8], plan.Outputs["pooled"].Shape);
            // the int32 Cast of int64 ids is a view; ArgMax reads the int64 ids themselves
            Assert.DoesNotContain(plan.Steps, s => s.Name.Contains("Cast"));
            Assert.Contains(plan.Steps, s => s.Name.Contains("ArgMax"));
        }

        // the same graph with the ids read at plan time: ArgMax and the index fold on the host, only the gather runs
        int at = g.Inputs.FindIndex(i => i.Name == "input_ids");
        g.Inputs[at] = g.Inputs[at] with { PlanTime = true };
        var values = new Dictionary<string, HostTensor> { ["input_ids"] = HostTensor.Int64([.. Enumerable.Range(0, 27).Select(i => (long)(i * 7 % 11))], 3, 9) };
        using var folded = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["hidden"] = [3, 9, 8] }, values);
        Assert.DoesNotContain(folded.Steps, s => s.Name.Contains("ArgMax"));
        Assert.Single(folded.HostUploadsI64);
        Assert.Equal([3, 8], folded.Outputs["pooled"].Shape);
    }

    [Fact]
    public void ArgMax_and_GatherND_fold_on_the_host_as_onnx_defines_them()
    {
        // x [2, 3, 2]: x[b, j, c] at (b·3 + j)·2 + c
        var x = new HostValue([2, 3, 2], [1, 5, 3, 5, 2, 0, 7, 7, 1, 9, 0, 9], false);
        OpNode ArgMax(long last) => new("ArgMax", "am", ["x"], ["i"], new() { ["axis"] = new(Int: 1), ["keepdims"] = new(Int: 1), ["select_last_index"] = new(Int: last) });
        var first = HostOps.Eval(ArgMax(0), [x], _ => null)[0];
        Assert.Equal([2, 1, 2], first.Shape);
        Assert.True(first.IsInt);
        Assert.Equal([1.0, 0, 0, 1], first.Data); // ties ([5, 5, 0], [7, 9, 9]) give the first index
        Assert.Equal([1.0, 1, 0, 2], HostOps.Eval(ArgMax(1), [x], _ => null)[0].Data);
        var dropped = HostOps.Eval(new OpNode("ArgMax", "am", ["x"], ["i"], new() { ["axis"] = new(Int: -1), ["keepdims"] = new(Int: 0) }), [x], _ => null)[0];
        Assert.Equal([2, 3], dropped.Shape);
        Assert.Equal([1.0, 1, 0, 0, 1, 1], dropped.Data);
        // GatherND, one batch dim, indices [2, 1]: x[0, 2, :] and x[1, 0, :]
        var idx = new HostValue([2, 1], [2, 0], true);
        var gnd = new OpNode("GatherND", "g", ["x", "idx"], ["y"], new() { ["batch_dims"] = new(Int: 1) });
        var y = HostOps.Eval(gnd, [x, idx], _ => null)[0];
        Assert.Equal([2, 2], y.Shape);
        Assert.Equal([2.0, 0, 7, 7], y.Data);
        // no batch dims, index pairs: x[1, 2, :], x[0, -3 → 0, :]
        var pairs = new HostValue([2, 2], [1, 2, 0, -3], true);
        var z = HostOps.Eval(new OpNode("GatherND", "g", ["x", "p"], ["z"], []), [x, pairs], _ => null)[0];
        Assert.Equal([2, 2], z.Shape);
        Assert.Equal([0.0, 9, 1, 5], z.Data);
    }

    [ConformanceFact]
    public void Flux1_vae_runs_group_norms_with_their_silu_in_float32()
    {
        var dec = Compile("flux1", "vae.decoder", out var report);
        // every GroupNorm is one VgGroupNorm; the ones a SiLU follows (resnets, conv_norm_out) carry it
        Assert.DoesNotContain(dec.Nodes, n => n.Op is "GroupNormalization" or "ReduceMean" or "Sigmoid" or "VgSilu");
        Assert.Equal(21, report["VgGroupNorm(silu)"]);
        Assert.Equal(1, report["VgGroupNorm"]);
        using (var plan = Plan(dec, new() { ["latents"] = [1, 4, 8, 8] }, float32: true))
        {
            Assert.Equal([1, 3, 64, 64], plan.Outputs["sample"].Shape);
            // float32 throughout but for the inputs of the mid-block attention's four GEMMs (to_q/k/v share one): the
            // engine's GEMM weights are packed bf16, so those products take bf16 activations (fp32 accumulation and output)
            Assert.Equal(2, plan.Values.Count(v => v.DType == VgDType.BF16));
            Assert.All(plan.Values.Where(v => v.DType == VgDType.BF16), v => Assert.EndsWith("#BF16", v.Name));
            Assert.Equal(22, plan.Steps.Count(s => s.Kind == KernelClass.NormRope));
            // the mid-block attention: one head of 16 channels over the 8x8 positions, general fp32 path
            Assert.Equal(3, plan.Steps.Count(s => s.Kind == KernelClass.Attention));
        }
        var enc = Compile("flux1", "vae.encoder", out var encReport);
        Assert.Equal(13, encReport["VgGroupNorm(silu)"]);
        using (var plan = Plan(enc, new() { ["image"] = [1, 3, 64, 64] }, float32: true))
            Assert.Equal([1, 4, 8, 8], plan.Outputs["latent_mean"].Shape);
    }

    [ConformanceFact]
    public void Qwen25vl_text_model_reads_its_mask_at_plan_time_and_runs_grouped_query_attention()
    {
        // Qwen-Image's text encoder: 2 decoder layers (4 query heads, 2 kv heads of 8), SwiGLU, RMSNorm; positions are
        // cumsum(attention_mask) - 1 (1 at padding), so the mask is a plan-time input and CumSum folds on the host
        var g = Compile("qwenimage", "text_encoder", out var report);
        Assert.True(g.Inputs.Single(i => i.Name == "attention_mask").PlanTime);
        Assert.False(g.Inputs.Single(i => i.Name == "input_ids").PlanTime);
        Assert.Equal(1, report["VgGather"]);
        Assert.Equal(14, report["VgLinear"]); // q, k, v, o, gate, up, down per layer
        Assert.Equal(5, report["VgNorm(rms)"]); // two per layer and the final norm
        Assert.Equal(2, report["VgSilu"]);
        Assert.Contains(g.Nodes, n => n.Op == "CumSum");
        Assert.All(g.Nodes.Where(n => n.Op == "Attention"), n => { Assert.Equal(4, n.Int("q_num_heads", 0)); Assert.Equal(2, n.Int("kv_num_heads", 0)); });

        // the golden prompt: 118 templated tokens, no padding
        using (var plan = QwenPlan(g, 118, 118))
        {
            Assert.Equal([1, 118, 32], plan.Outputs["last_hidden_state"].Shape);
            Assert.Equal(2, plan.Steps.Count(s => s.Name.EndsWith("/softmax")));
            Assert.DoesNotContain(plan.Steps, s => s.Name.Contains("CumSum") || s.Name.Contains("Cos") || s.Name.Contains("Sin"));
            // the rotary tables [1, 118, 1, 8] (cos at position 0 is 1, sin 0) and the causal mask folded and uploaded
            var (cos, sin) = RotaryTables(plan, 118);
            Assert.Equal(1f, cos[0]); Assert.Equal(0f, sin[0]);
            Assert.Equal(MathF.Cos(117f), cos[117 * 8], 4); // inv_freq[0] = 1
            Assert.Equal(MathF.Sin(117f * (float)Math.Pow(1e6, -0.25)), sin[117 * 8 + 1], 4);
            var mask = Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 118, 118 }));
            Assert.Equal(VgDType.F32, mask.Value.DType);
            Assert.Equal(0f, mask.Data[117 * 118]);
            Assert.Equal(float.MinValue, mask.Data[1]);
        }
        // the negative prompt's 87 tokens are another plan; with padding after 80 tokens the padded keys are masked on
        // every row and the padded positions are 1, as get_rope_index gives them
        using (var padded = QwenPlan(g, 87, 80))
        {
            Assert.Equal([1, 87, 32], padded.Outputs["last_hidden_state"].Shape);
            var (cos, _) = RotaryTables(padded, 87);
            Assert.Equal(cos.AsSpan(8, 8).ToArray(), cos.AsSpan(85 * 8, 8).ToArray());
            Assert.NotEqual(cos.AsSpan(8, 8).ToArray(), cos.AsSpan(79 * 8, 8).ToArray());
            var mask = Assert.Single(padded.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 87, 87 }));
            for (int i = 0; i < 87; i++)
            {
                Assert.Equal(0f, mask.Data[i * 87]);
                Assert.Equal(float.MinValue, mask.Data[i * 87 + 80]);
            }
        }
    }

    static ShapePlan QwenPlan(OpGraph g, int tokens, int real)
    {
        var mask = HostTensor.Int64([.. Enumerable.Range(0, tokens).Select(i => i < real ? 1L : 0L)], 1, tokens);
        return ShapePlanner.Plan(g, new EngineResources { Bf16MinRows = 64 }, new Dictionary<string, long[]> { ["input_ids"] = [1, tokens], ["attention_mask"] = [1, tokens] },
            new Dictionary<string, HostTensor> { ["attention_mask"] = mask });
    }

    static (float[] Cos, float[] Sin) RotaryTables(ShapePlan plan, long tokens)
    {
        var tables = plan.HostUploads.Where(u => u.Value.Shape.SequenceEqual(new long[] { 1, tokens, 1, 8 })).Select(u => u.Data).ToList();
        Assert.Equal(2, tables.Count);
        return tables[0][0] == 1f ? (tables[0], tables[1]) : (tables[1], tables[0]);
    }

    [Fact]
    public void Reductions_and_boolean_ops_fold_on_the_host_as_onnx_defines_them()
    {
        // x [2, 3]: [[1, 5, 3], [4, 2, 0]]
        var x = new HostValue([2, 3], [1, 5, 3, 4, 2, 0], true);
        HostValue Reduce(string op, long[] axes, long keep) =>
            HostOps.Eval(new OpNode(op, "r", ["x", "axes"], ["y"], new() { ["keepdims"] = new(Int: keep) }), [x, new HostValue([axes.Length], [.. axes.Select(a => (double)a)], true)], _ => null)[0];
        var max = Reduce("ReduceMax", [1], 1);
        Assert.Equal([2, 1], max.Shape);
        Assert.Equal([5.0, 4], max.Data);
        Assert.True(max.IsInt);
        var sum = Reduce("ReduceSum", [0], 0);
        Assert.Equal([3], sum.Shape);
        Assert.Equal([5.0, 7, 3], sum.Data);
        var mean = Reduce("ReduceMean", [-1], 0);
        Assert.Equal([3.0, 2], mean.Data);
        Assert.False(mean.IsInt);
        Assert.Equal([5.0], Reduce("ReduceMax", [0, 1], 0).Data);
        // Or / And / Xor broadcast over [2, 2] and [2]
        var a = new HostValue([2, 2], [0, 1, 1, 0], true);
        var b = new HostValue([2], [1, 0], true);
        double[] Logic(string op) => HostOps.Eval(new OpNode(op, "l", ["a", "b"], ["y"], []), [a, b], _ => null)[0].Data;
        Assert.Equal([1.0, 1, 1, 0], Logic("Or"));
        Assert.Equal([0.0, 0, 1, 0], Logic("And"));
        Assert.Equal([1.0, 1, 0, 0], Logic("Xor"));
    }

    [Fact]
    public void CumSum_folds_on_the_host_as_onnx_defines_it()
    {
        var x = new HostValue([2, 3], [1, 1, 0, 0, 1, 1], true);
        HostValue Run(long axis, long exclusive, long reverse) => HostOps.Eval(new OpNode("CumSum", "c", ["x", "axis"], ["y"],
            new() { ["exclusive"] = new(Int: exclusive), ["reverse"] = new(Int: reverse) }), [x, new HostValue([], [axis], true)], _ => null)[0];
        var y = Run(1, 0, 0);
        Assert.True(y.IsInt);
        Assert.Equal([2, 3], y.Shape);
        Assert.Equal([1.0, 2, 2, 0, 1, 2], y.Data);
        Assert.Equal([0.0, 1, 2, 0, 0, 1], Run(-1, 1, 0).Data);
        Assert.Equal([2.0, 1, 0, 2, 2, 1], Run(1, 0, 1).Data);
        Assert.Equal([0.0, 1, 1, 0, 0, 0], Run(0, 1, 1).Data); // reverse exclusive along the rows: row 0 = row 1, row 1 = 0
        Assert.Equal([1.0, 1, 0, 1, 2, 1], Run(0, 0, 0).Data);
    }

    [ConformanceFact]
    public void Flux2_mistral_text_encoder_plans_its_causal_and_padding_masks_and_stacked_layers()
    {
        // FLUX.2's Mistral3 language model (30 layers, GQA): the causal mask folds, the padding mask is computed on the
        // device from the attention_mask input; the hidden states of layers 10, 20 and 30 are concatenated
        var g = Compile("flux2", "text_encoder", out var report);
        Assert.All(g.Inputs, i => Assert.False(i.PlanTime));
        Assert.Equal(1, report["VgGather"]);
        Assert.Equal(210, report["VgLinear"]);
        Assert.Equal(30, g.Nodes.Count(n => n.Op == "Attention"));
        using var plan = Plan(g, new() { ["input_ids"] = [1, 512], ["attention_mask"] = [1, 512] }, float32: false);
        Assert.Equal([1, 512, 48], plan.Outputs["prompt_embeds"].Shape);
        Assert.Equal(VgDType.I64, plan.Inputs["attention_mask"].DType);
        Assert.Equal(30, plan.Steps.Count(s => s.Name.EndsWith("/softmax")));
        Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, 512, 512 }));
        var masks = g.Nodes.Where(n => n.Op == "Attention").Select(n => n.Inputs[3]!).ToHashSet();
        Assert.Single(masks);
        Assert.All(plan.Values.Where(v => masks.Contains(v.Name)), v => Assert.Equal(VgDType.F32, v.DType));
    }

    [ConformanceFact]
    public void Flux2_vae_plans_like_autoencoder_kl_in_float32()
    {
        var dec = Compile("flux2", "vae.decoder", out var report);
        Assert.Equal(21, report["VgGroupNorm(silu)"]);
        Assert.Equal(1, report["VgGroupNorm"]);
        using (var plan = Plan(dec, new() { ["latents"] = [1, 8, 8, 6] }, float32: true))
        {
            Assert.Equal([1, 3, 64, 48], plan.Outputs["sample"].Shape);
            Assert.All(plan.Values.Where(v => v.DType == VgDType.BF16), v => Assert.EndsWith("#BF16", v.Name));
            Assert.Equal(3, plan.Steps.Count(s => s.Kind == KernelClass.Attention));
        }
        var enc = Compile("flux2", "vae.encoder", out var encReport);
        Assert.Equal(13, encReport["VgGroupNorm(silu)"]);
        using (var plan = Plan(enc, new() { ["image"] = [1, 3, 64, 48] }, float32: true))
            Assert.Equal([1, 8, 8, 6], plan.Outputs["latent_mean"].Shape);
    }
}
