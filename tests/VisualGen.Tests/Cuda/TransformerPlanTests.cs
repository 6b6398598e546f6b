using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Model;
using VisualGen.Engines.Cuda.Native;
using VisualGen.Engines.Cuda.Planning;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Export;
using VisualGen.Exporter.Models.Cosmos3;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Exporter.Models.Ltx2.Transformer;
using VisualGen.Exporter.Onnx;
using VisualGen.Pipelines.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>The native engine's build and plan (dry run, no GPU) of FLUX.2's, Cosmos3's and LTX-2's transformers, on the
/// conformance fixtures and on the test suite's own random checkpoints: every node maps onto an engine op, every shape
/// plans, and the position tables, masks and attention kernels come out as intended. Numerics are the GPU's to check
/// (tools/device/pipeline_check.py and the components command).</summary>
public class TransformerPlanTests
{
    static string Export(string family, string part = "", VisualGen.Quantization.QuantAlgo? quantize = null)
    {
        var index = ModelIndex.Load(Fixtures.Checkpoint(family));
        var exporter = ComponentExporterRegistry.CreateDefault().Get(index, "transformer");
        string dir = index.ComponentDirectory("transformer");
        string path = Path.Combine(Fixtures.TempDir("plan-" + family), "model.onnx");
        var linears = quantize is null ? null
            : new VisualGen.Exporter.Quantization.QuantizedLinears(new VisualGen.Quantization.QuantizationConfig(quantize, []), fromCheckpoint: false);
        using (var weights = ComponentWeights.Open(dir))
            new OnnxWriter().Write(exporter.Trace(new TraceContext(index, "transformer", dir, weights, part, linears)), path);
        return path;
    }

    /// <summary>What a build and a later load give: the compiled graph written as an engine entry (plan.json, weights
    /// referenced in the checkpoint) and read back, and the fusion report.</summary>
    static (OpGraph Graph, FusionReport Report) BuildAndLoad(string onnxPath)
    {
        var (g, report) = CudaBackend.Compile(onnxPath);
        string entry = Path.Combine(Path.GetDirectoryName(onnxPath)!, "entry");
        Directory.CreateDirectory(entry);
        PlanFile.Write(g, entry, new Dictionary<string, byte[]>());
        return (PlanFile.Read(entry).Graph, report);
    }

    static string Write(Exporter.Graph.Graph graph, string name)
    {
        string path = Path.Combine(Fixtures.TempDir(name), "model.onnx");
        new OnnxWriter().Write(graph, path);
        return path;
    }

    static ShapePlan Plan(OpGraph g, Dictionary<string, long[]> shapes, Dictionary<string, HostTensor>? values = null)
    {
        values ??= [];
        foreach (var (k, v) in values) shapes[k] = v.Shape;
        return ShapePlanner.Plan(g, new EngineResources { Bf16MinRows = 64 }, shapes, values);
    }

    static int Softmaxes(ShapePlan plan) => plan.Steps.Count(s => s.Kind == KernelClass.Attention && s.Name.EndsWith("/softmax"));

    // ---- FLUX.2 ---------------------------------------------------------------------------------------------

    [ConformanceFact]
    public void Flux2_transformer_plans_with_its_four_axis_rope_folded_and_fused_attention()
    {
        var (g, report) = BuildAndLoad(Export("flux2"));
        Assert.Equal(["img_ids", "txt_ids"], g.Inputs.Where(i => i.PlanTime).Select(i => i.Name).Order());
        // 1 double block (joint q, k) + 2 single blocks: one RoPE'd q and k each; the per-head RMSNorms stay VgNorm
        Assert.Equal(6, report.Counts["VgRmsNormRope"]);
        Assert.Equal(8, report.Counts["VgNorm(rms)"]);
        Assert.Equal(27, report.Counts["VgLinear"]);
        Assert.DoesNotContain(g.Nodes, n => n.Op is "LayerNormalization" or "RMSNormalization" or "Sigmoid");
        // Flux2SwiGLU of the two feed-forwards of the double block and of each single block's MLP part: one pass reading
        // both halves of its input in place (no split copies); no other SiLU is followed by a product
        Assert.Equal(2 + 2, g.Nodes.Count(n => n.Op == "VgSwiGlu"));
        Assert.DoesNotContain(g.Nodes, n => n.Op == "VgSiluMul");
        using var golden = Fixtures.Golden("flux2");
        HostTensor Ids(string name)
        {
            var ids = Fixtures.GoldenTensor(golden, $"transformer.in.{name}");
            return HostTensor.Float32(ids.Longs.Select(v => (float)v).ToArray(), ids.Shape[1], ids.Shape[2]);
        }
        var values = new Dictionary<string, HostTensor> { ["img_ids"] = Ids("img_ids"), ["txt_ids"] = Ids("txt_ids") };
        var shapes = new Dictionary<string, long[]>
        {
            ["hidden_states"] = [1, 12, 32], ["encoder_hidden_states"] = [1, 512, 48], ["timestep"] = [1], ["guidance"] = [1],
        };
        using (var plan = Plan(g, shapes, values))
        {
            Assert.Equal([1, 12, 32], plan.Outputs["sample"].Shape);
            Assert.DoesNotContain(plan.Inputs.Keys, k => k.EndsWith("_ids"));
            // the joint RoPE table [text + image tokens, head_dim / 2] is computed at plan time (cos and sin)
            Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.SequenceEqual(new long[] { 512 + 12, 8 })));
            // three attentions (joint, two single-stream), each one fused kernel: no scores materialized
            Assert.Equal(3, plan.Steps.Count(s => s.Kind == KernelClass.Attention));
            Assert.Equal(0, Softmaxes(plan));
            Assert.Equal(27, plan.Gemms.Count);
            var swiglu = g.Nodes.Where(n => n.Op == "VgSwiGlu").Select(n => n.Name).ToHashSet();
            Assert.Equal(4, plan.Steps.Count(s => swiglu.Contains(s.Name)));
        }
        Assert.Contains("read when a shape is planned", Assert.Throws<EngineException>(() => ShapePlanner.Plan(g, new EngineResources(), shapes)).Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Flux2_random_transformer_plans_at_batch_two(bool guidanceEmbeds)
    {
        var model = new Flux2TransformerReference
        {
            InChannels = 12, Heads = 3, HeadDim = 8, JointAttentionDim = 10, NumLayers = 2, NumSingleLayers = 2,
            GuidanceEmbeds = guidanceEmbeds, AxesDimsRope = [2, 2, 2, 2], MlpRatio = 2.0, RopeTheta = 500,
        };
        string dir = model.Write(Fixtures.TempDir("plan-flux2-random"), seed: 3);
        string path;
        using (var weights = ComponentWeights.Open(dir)) path = Write(Flux2Transformer2D.Trace(dir, weights), "plan-flux2-random");
        var (g, report) = CudaBackend.Compile(path);
        Assert.Equal(2 * 2 + 2 * 2, report.Counts["VgRmsNormRope"]);
        Assert.Equal(guidanceEmbeds, g.Inputs.Any(i => i.Name == "guidance"));
        var shapes = new Dictionary<string, long[]> { ["hidden_states"] = [2, 6, 12], ["encoder_hidden_states"] = [2, 5, 10], ["timestep"] = [2] };
        if (guidanceEmbeds) shapes["guidance"] = [2];
        using var plan = Plan(g, shapes, new() { ["img_ids"] = Flux2Latents.ImageIds(2, 3), ["txt_ids"] = Flux2Latents.TextIds(5) });
        Assert.Equal([2, 6, 12], plan.Outputs["sample"].Shape);
        Assert.Equal(4, plan.Steps.Count(s => s.Kind == KernelClass.Attention));
        Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.SequenceEqual(new long[] { 5 + 6, 4 })));
    }

    // ---- Cosmos3 -------------------------------------------------------------------------------------------

    [ConformanceTheory]
    [InlineData("cosmos3_t2i")]
    [InlineData("cosmos3_t2v")]
    [InlineData("cosmos3_i2v")]
    public void Cosmos3_transformer_plans_with_mrope_and_causal_mask_folded(string family)
    {
        var (g, report) = BuildAndLoad(Export(family));
        Assert.Equal(["position_ids"], g.Inputs.Where(i => i.PlanTime).Select(i => i.Name));
        Assert.Equal(1, report.Counts["VgGather"]); // embed_tokens on the device token ids
        // every rotate_half RoPE is one kernel: per layer q and k of the text, the text keys the vision tokens read, q and
        // k of the vision tokens; the last layer's text q and k feed nothing the sample reads
        Assert.Equal(5 * 2 - 2, g.Nodes.Count(n => n.Op == "VgRopeRotateHalf"));
        Assert.DoesNotContain(g.Nodes, n => n.Op == "Neg");
        // the gated MLPs silu(gate_proj(x)) · up_proj(x), text and vision, but the last layer's text one (pruned)
        Assert.Equal(2 * 2 - 1, g.Nodes.Count(n => n.Op == "VgSiluMul"));
        using var golden = Fixtures.Golden(family);
        var positions = Fixtures.GoldenTensor(golden, "transformer.in.position_ids");
        long text = Fixtures.GoldenTensor(golden, "transformer.in.input_ids").Shape[0], vision = positions.Shape[1] - text;
        using var plan = Plan(g, new() { ["input_ids"] = [text], ["hidden_states"] = [vision, 192], ["timestep"] = [1], ["noisy_tokens"] = [vision] },
            new() { ["position_ids"] = positions });
        Assert.Equal([vision, 192], plan.Outputs["sample"].Shape);
        Assert.Equal(VgDType.I64, plan.Inputs["input_ids"].DType);
        // the mRoPE tables of the text and of the vision tokens [1, tokens, 1, head_dim] and the causal mask fold on the host
        Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.SequenceEqual(new long[] { 1, text, 1, 16 })));
        Assert.Equal(2, plan.HostUploads.Count(u => u.Value.Shape.SequenceEqual(new long[] { 1, vision, 1, 16 })));
        var mask = Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1, 1, text, text }));
        Assert.Equal(0f, mask.Data[(text - 1) * text]);
        Assert.Equal(float.MinValue, mask.Data[1]);
        // 2 layers: the vision tokens' attention over [text, vision] keys (grouped-query, no mask) is one fused kernel per
        // layer; the text tokens' causal attention runs through the masked general path, and only in layer 0 (the last
        // layer's text output feeds nothing the sample reads, so it is pruned)
        Assert.Equal(1, Softmaxes(plan));
        Assert.Equal(2 + 3, plan.Steps.Count(s => s.Kind == KernelClass.Attention));
        Assert.Contains(plan.Steps, s => s.Detail is { } d && d.Contains($"q{vision}k{text + vision}"));
    }

    [Theory]
    [MemberData(nameof(Cosmos3TransformerRandomTests.Configurations), MemberType = typeof(Cosmos3TransformerRandomTests))]
    public void Cosmos3_random_transformer_plans(string name)
    {
        Cosmos3TransformerReference reference = name switch
        {
            "silu-gqa" => new() { HiddenSize = 20, Heads = 4, KvHeads = 2, HeadDim = 8, IntermediateSize = 24, Layers = 2, VocabSize = 40, LatentChannels = 3, RopeAxesDim = [2, 1, 1] },
            _ => new() { HiddenSize = 18, Heads = 3, KvHeads = 1, HeadDim = 12, IntermediateSize = 30, Layers = 3, VocabSize = 33, LatentChannels = 2, RopeAxesDim = [3, 2, 1],
                HiddenAct = "relu2", QkNormForText = false, UseUndKNormForGen = true, AttentionBias = true, RopeTheta = 10000 },
        };
        string dir = reference.Write(Fixtures.TempDir("plan-cosmos3-random"), seed: 11);
        string path;
        using (var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors")))
            path = Write(Cosmos3OmniTransformer.Trace(dir, weights), "plan-cosmos3-random");
        var (g, _) = CudaBackend.Compile(path);
        Assert.Equal(5 * reference.Layers - 2, g.Nodes.Count(n => n.Op == "VgRopeRotateHalf"));
        const int text = 7, vision = 18;
        var positions = new float[3 * (text + vision)];
        for (int n = 0; n < text + vision; n++) for (int a = 0; a < 3; a++) positions[a * (text + vision) + n] = n < text ? n : text + 15000 + (n - text) % (a + 3);
        using var plan = Plan(g, new() { ["input_ids"] = [text], ["hidden_states"] = [vision, reference.PatchLatentDim], ["timestep"] = [1], ["noisy_tokens"] = [vision] },
            new() { ["position_ids"] = HostTensor.Float32(positions, 3, text + vision) });
        Assert.Equal([vision, reference.PatchLatentDim], plan.Outputs["sample"].Shape);
        // the text tokens' causal attention of every layer but the last; a head_dim of 12 takes the general path for the
        // vision tokens' attention too
        int general = reference.Layers - 1 + (reference.HeadDim % 8 == 0 ? 0 : reference.Layers);
        Assert.Equal(general, Softmaxes(plan));
    }

    /// <summary>FLUX.2's, Cosmos3's and LTX-2's transformers quantized dynamically (FP8, and NVFP4 weight-only on Hopper)
    /// compile with every quantized linear fused and plan on the native engine: each fused linear one quantized GEMM step
    /// (or its dequantized weight's), the outputs shaped as unquantized.</summary>
    [ConformanceTheory]
    [InlineData("flux2", "FP8")]
    [InlineData("flux2", "NVFP4")]
    [InlineData("cosmos3_t2i", "FP8")]
    [InlineData("ltx2", "FP8")]
    [InlineData("ltx2", "NVFP4")]
    public void Quantized_transformers_of_the_other_families_plan(string family, string algo)
    {
        var (g, _) = BuildAndLoad(Export(family, quantize: VisualGen.Quantization.QuantAlgo.Parse(algo, "test")));
        // every quantized linear is one fused node: no dequantize op is left
        int fused = g.Nodes.Count(n => n.Op == "VgQuantLinear");
        Assert.True(fused > 0);
        Assert.DoesNotContain(g.Nodes, n => n.Op is "DequantizeLinear" or "BitShift" or "BitwiseAnd");
        using var golden = Fixtures.Golden(family);
        (Dictionary<string, long[]> Shapes, Dictionary<string, HostTensor>? Values, string Output, long[] Shape) run = family switch
        {
            "flux2" => (new() { ["hidden_states"] = [1, 12, 32], ["encoder_hidden_states"] = [1, 512, 48], ["timestep"] = [1], ["guidance"] = [1] },
                new() { ["img_ids"] = Ids(golden, "img_ids"), ["txt_ids"] = Ids(golden, "txt_ids") }, "sample", [1, 12, 32]),
            "cosmos3_t2i" => CosmosRun(golden),
            _ => (Ltx2Shapes(2, 1280, 9, 32, 4, 4, 32), null, Ltx2VideoTransformer3DModel.SampleOutput, [2, 1280, 4]),
        };
        using var plan = Plan(g, run.Shapes, run.Values);
        Assert.Equal(run.Shape, plan.Outputs[run.Output].Shape);
        // FP8: one cuBLASLt FP8 GEMM per fused linear whose in and out features are multiples of 16, the others' weights
        // dequantized before a bf16 GEMM (the tiny fixtures have such heads); NVFP4 on Hopper: one unpack per fused linear
        var linears = g.Nodes.Where(n => n.Op == "VgQuantLinear").ToList();
        int fp8Shaped = linears.Count(n => n.Int("n", 0) % 16 == 0 && n.Int("k", 0) % 16 == 0);
        if (algo == "FP8")
        {
            Assert.Equal(fp8Shaped, plan.Steps.Count(st => st.Detail?.StartsWith("fp8m", StringComparison.Ordinal) == true));
            Assert.Equal(fused - fp8Shaped, plan.Steps.Count(st => st.Name.EndsWith("/dequantize", StringComparison.Ordinal)));
        }
        else Assert.Equal(fused, plan.Steps.Count(st => st.Name.EndsWith("/unpack", StringComparison.Ordinal)));

        static HostTensor Ids(VisualGen.Checkpoints.SafeTensorsFile golden, string name)
        {
            var ids = Fixtures.GoldenTensor(golden, $"transformer.in.{name}");
            return HostTensor.Float32(ids.Longs.Select(v => (float)v).ToArray(), ids.Shape[1], ids.Shape[2]);
        }
        static (Dictionary<string, long[]>, Dictionary<string, HostTensor>?, string, long[]) CosmosRun(VisualGen.Checkpoints.SafeTensorsFile golden)
        {
            var positions = Fixtures.GoldenTensor(golden, "transformer.in.position_ids");
            long text = Fixtures.GoldenTensor(golden, "transformer.in.input_ids").Shape[0], vision = positions.Shape[1] - text;
            return (new() { ["input_ids"] = [text], ["hidden_states"] = [vision, 192], ["timestep"] = [1], ["noisy_tokens"] = [vision] },
                new() { ["position_ids"] = positions }, "sample", [vision, 192]);
        }
    }

    // ---- LTX-2 ---------------------------------------------------------------------------------------------

    static Dictionary<string, long[]> Ltx2Shapes(long b, long n, long m, long l, long inC, long audioInC, long caption) => new()
    {
        [Ltx2VideoTransformer3DModel.HiddenStatesInput] = [b, n, inC], [Ltx2VideoTransformer3DModel.AudioHiddenStatesInput] = [b, m, audioInC],
        [Ltx2VideoTransformer3DModel.EncoderHiddenStatesInput] = [b, l, caption], [Ltx2VideoTransformer3DModel.AudioEncoderHiddenStatesInput] = [b, l, caption],
        [Ltx2VideoTransformer3DModel.TimestepInput] = [b], [Ltx2VideoTransformer3DModel.SigmaInput] = [b],
        [Ltx2VideoTransformer3DModel.EncoderAttentionMaskInput] = [b, l], [Ltx2VideoTransformer3DModel.AudioEncoderAttentionMaskInput] = [b, l],
        [Ltx2VideoTransformer3DModel.VideoCoordsInput] = [b, 3, n, 2], [Ltx2VideoTransformer3DModel.AudioCoordsInput] = [b, 1, m, 2],
    };

    [ConformanceTheory]
    [InlineData("", 12)]
    [InlineData("isolated", 8)]
    public void Ltx2_transformer_plans_both_streams_with_device_rope_and_padding_masks(string part, int attentions)
    {
        var (g, report) = BuildAndLoad(Export("ltx2", part));
        Assert.DoesNotContain(g.Inputs, i => i.PlanTime);
        Assert.Equal(attentions, g.Nodes.Count(n => n.Op == "Attention"));
        // the split RoPE of every query and key but the text cross-attentions' (no RoPE): one kernel each
        Assert.Equal(2 * (attentions - 4), g.Nodes.Count(n => n.Op == "VgRopeRotateHalf"));
        Assert.DoesNotContain(g.Nodes, n => n.Op == "Neg");
        using var plan = Plan(g, Ltx2Shapes(2, 1280, 9, 32, 4, 4, 32));
        Assert.Equal([2, 1280, 4], plan.Outputs[Ltx2VideoTransformer3DModel.SampleOutput].Shape);
        Assert.Equal([2, 9, 4], plan.Outputs[Ltx2VideoTransformer3DModel.AudioSampleOutput].Shape);
        Assert.Equal(VgDType.I64, plan.Inputs[Ltx2VideoTransformer3DModel.EncoderAttentionMaskInput].DType);
        // the text cross-attentions read the additive padding mask [batch, 1, 1, text] computed on the device, in float32
        var masks = g.Nodes.Where(n => n.Op == "Attention" && n.In(3) is not null).Select(n => n.In(3)!).ToHashSet();
        Assert.Equal(2, masks.Count);
        var producers = g.Producers();
        foreach (var m in masks)
        {
            // the mask is a [batch, 1, 1, text] view of the (1 - mask) · -10000 the device computes
            var view = producers[m];
            Assert.Equal("Reshape", view.Op);
            var computed = Assert.Single(plan.Values, v => v.Name == view.In(0));
            Assert.Equal(VgDType.F32, computed.DType);
            Assert.Equal([2, 32], computed.Shape);
        }
        // ONNX Runtime needs the mask expanded over the queries; the engine broadcasts it instead of copying it per attention
        Assert.Equal(2 * 2, report.Counts["Attention(mask broadcast)"]); // attn2 and audio_attn2 of both blocks
        Assert.DoesNotContain(plan.Values, v => v.Shape.SequenceEqual(new long[] { 2, 1, 1280, 32 }));
        // the RoPE cos tables are front-padded with 1 (sin with 0) when dim/2 is not a multiple of the axes' frequencies
        Assert.Contains(plan.Steps, s => s.Name.EndsWith("/fill"));
        Assert.Contains(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1 }) && u.Data[0] == 1f);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Ltx2_random_transformer_plans_with_gated_attention_and_prompt_modulation(bool isolated)
    {
        var (dir, _) = Ltx2TransformerRandomCheckpointTests.WriteCheckpoint(perturbedAttn: true);
        try
        {
            string path;
            using (var weights = ComponentWeights.Open(dir))
                path = Write(Ltx2VideoTransformer3DModel.Trace(dir, weights, useCrossTimestep: !isolated, isolateModalities: isolated, spatioTemporalGuidanceBlocks: isolated ? [1] : null), "plan-ltx2-random");
            var (g, _) = CudaBackend.Compile(path);
            // queries and keys of the self- and cross-modal attentions (STG's value-only block 1 has none of its own)
            Assert.Equal(isolated ? 2 * 2 : 2 * 8, g.Nodes.Count(n => n.Op == "VgRopeRotateHalf"));
            using var plan = Plan(g, Ltx2Shapes(2, 8, 5, 6, 3, 2, 10));
            Assert.Equal([2, 8, 5], plan.Outputs[Ltx2VideoTransformer3DModel.SampleOutput].Shape);
            Assert.Equal([2, 5, 3], plan.Outputs[Ltx2VideoTransformer3DModel.AudioSampleOutput].Shape);
            // head_dim 4: every attention takes the general path; STG on block 1 replaces its two self-attentions by
            // their value projections
            int perLayer = isolated ? 4 : 6;
            Assert.Equal(2 * perLayer - (isolated ? 2 : 0), Softmaxes(plan));
        }
        finally { Directory.Delete(dir, true); }
    }

    // ---- step-cache parts (Cosmos3, LTX-2) ---------------------------------------------------------------------

    /// <summary>The step-cache parts of the conformance transformers plan on the native engine with the shapes the
    /// pipelines give them: LTX-2's joined streams (2 rows of 1280 video tokens · 16 + 9 audio tokens · 8 values; the
    /// output part's 1280·4 + 9·4), Cosmos3's text-then-vision stream.</summary>
    [ConformanceFact]
    public void Step_cache_parts_plan_with_joined_streams()
    {
        var ltx2 = Ltx2Shapes(2, 1280, 9, 32, 4, 4, 32);
        long joined = 1280 * 16 + 9 * 8, joinedOut = 1280 * 4 + 9 * 4;
        foreach (var (part, output, shape) in new[]
        {
            ("embed", "hidden", new long[] { 2, joined }),
            ("blocks_0_1", "hidden_out", [2, joined]),
            ("blocks_1_2_no_cross_timestep", "hidden_out", [2, joined]),
            ("output", "sample", [2, joinedOut]),
            ("time_embedding", "temb", [2, 16]),
        })
        {
            var (g, _) = BuildAndLoad(Export("ltx2", part));
            var shapes = g.Inputs.ToDictionary(i => i.Name, i => i.Name == "hidden" ? new long[] { 2, joined } : ltx2[i.Name]);
            using var plan = Plan(g, shapes);
            Assert.Equal(shape, plan.Outputs[output].Shape);
        }

        const int text = 7, vision = 3 * 2 * 3;
        var positions = new float[3 * (text + vision)];
        for (int n = 0; n < text + vision; n++) for (int a = 0; a < 3; a++) positions[a * (text + vision) + n] = n < text ? n : text + 15000 + (n - text) % (a + 3);
        var cosmos = new Dictionary<string, long[]> { ["input_ids"] = [text], ["hidden_states"] = [vision, 192], ["timestep"] = [1], ["noisy_tokens"] = [vision],
            ["hidden"] = [1, text + vision, 32] };
        foreach (var (part, output, shape) in new[]
        {
            ("embed", "hidden", new long[] { 1, text + vision, 32 }),
            ("blocks_0_2", "hidden_out", [1, text + vision, 32]),
            ("output", "sample", [vision, 192]),
            ("time_embedding", "temb", [1, 32]),
        })
        {
            var (g, _) = BuildAndLoad(Export("cosmos3_t2v", part));
            bool positional = g.Inputs.Any(i => i.Name == "position_ids");
            using var plan = Plan(g, g.Inputs.Where(i => i.Name != "position_ids").ToDictionary(i => i.Name, i => cosmos[i.Name]),
                positional ? new() { ["position_ids"] = HostTensor.Float32(positions, 3, text + vision) } : null);
            Assert.Equal(shape, plan.Outputs[output].Shape);
        }
    }

    [Fact]
    public void Rotate_half_rope_is_one_step_with_the_split_resolved_at_plan_time()
    {
        // Cosmos3's rotate_half over a head of 6 (cos/sin [1, tokens, 1, 6] broadcast over 2 heads), and LTX-2's split
        // RoPE (a head of 4 viewed [2, 2], Split(axis 3, [1, 1]), one frequency per head and pair)
        var t = new Exporter.Graph.Tracer("rotate_half");
        var x = t.Input("x", TensorDType.F32, "1", "tokens", "2", "6");
        var cos = t.Input("cos", TensorDType.F32, "1", "tokens", "1", "6");
        var sin = t.Input("sin", TensorDType.F32, "1", "tokens", "1", "6");
        t.Output(Cosmos3RotaryEmbedding.Apply(x, (cos, sin)), "y", "1", "tokens", "2", "6");
        var v = t.Input("v", TensorDType.F32, "2", "tokens", "8");
        var vcos = t.Input("vcos", TensorDType.F32, "2", "tokens", "2", "1", "2");
        var vsin = t.Input("vsin", TensorDType.F32, "2", "tokens", "2", "1", "2");
        t.Output(VisualGen.Exporter.Models.Ltx2.Ltx2SplitRotaryEmbedding.Apply(v, vcos, vsin, 2, 4), "w", "2", "tokens", "8");
        var (g, report) = CudaBackend.Compile(Write(t.Graph, "rotate_half"));
        Assert.Equal(2, report.Counts["VgRopeRotateHalf"]);
        Assert.DoesNotContain(g.Nodes, n => n.Op is "Neg" or "Mul" or "Add"); // (a Concat of shape dims builds the [2, 2] view)
        Assert.DoesNotContain(g.Nodes, n => n.Op == "Split");
        var byName = g.Nodes.Where(n => n.Op == "VgRopeRotateHalf").ToList();
        Assert.Contains(byName, n => n.Int("first", 0) == -1); // Chunk: ONNX's halves, resolved when planned
        Assert.Contains(byName, n => n.Int("first", 0) == 1 && n.Int("axis", 0) == 3); // Split(3, [1, 1])
        using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]>
        {
            ["x"] = [1, 5, 2, 6], ["cos"] = [1, 5, 1, 6], ["sin"] = [1, 5, 1, 6], ["v"] = [2, 5, 8], ["vcos"] = [2, 5, 2, 1, 2], ["vsin"] = [2, 5, 2, 1, 2],
        });
        Assert.Equal([1, 5, 2, 6], plan.Outputs["y"].Shape);
        Assert.Equal([2, 5, 8], plan.Outputs["w"].Shape);
        Assert.Equal(2, plan.Steps.Count(s => s.Kind == KernelClass.NormRope));
    }

    [Fact]
    public void SwiGlu_of_split_halves_reads_them_in_place_and_a_gated_product_is_one_pass()
    {
        var t = new Exporter.Graph.Tracer("swiglu");
        var x = t.Input("x", TensorDType.F32, "batch", "5", "12");
        t.Output(Flux2FeedForward.SwiGlu(x), "y", "batch", "5", "6");
        var a = t.Input("a", TensorDType.F32, "batch", "5", "6");
        var b = t.Input("b", TensorDType.F32, "batch", "5", "6");
        t.Output(a.Silu() * b, "z", "batch", "5", "6");
        var (g, report) = CudaBackend.Compile(Write(t.Graph, "swiglu"));
        Assert.Equal(1, report.Counts["VgSwiGlu"]);
        Assert.Equal(1, report.Counts["VgSiluMul"]);
        Assert.DoesNotContain(g.Nodes, n => n.Op is "Split" or "Mul" or "VgSilu" or "Sigmoid");
        using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["x"] = [2, 5, 12], ["a"] = [2, 5, 6], ["b"] = [2, 5, 6] });
        Assert.Equal([2, 5, 6], plan.Outputs["y"].Shape);
        Assert.Equal([2, 5, 6], plan.Outputs["z"].Shape);
        // one pass each (and the outputs' float32 copies): no copies of the halves
        var fused = g.Nodes.Where(n => n.Op is "VgSwiGlu" or "VgSiluMul").Select(n => n.Name).ToHashSet();
        Assert.Equal(2, plan.Steps.Count(s => fused.Contains(s.Name)));
        Assert.DoesNotContain(plan.Values, v => v.Shape.SequenceEqual(new long[] { 2, 5, 6 }) && !v.Persistent && v.Name.Contains("Split"));
        // an odd split axis cannot give two halves of one size
        Assert.Contains("odd size", Assert.Throws<EngineException>(() =>
            ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["x"] = [2, 5, 13], ["a"] = [2, 5, 6], ["b"] = [2, 5, 6] })).Message);
    }

    [Fact]
    public void Constant_pad_with_another_value_fills_the_border_with_it()
    {
        var t = new Exporter.Graph.Tracer("pad1");
        var x = t.Input("x", TensorDType.F32, "2", "3");
        t.Output(x.Pad([0, 2, 0, 1], 1f), "y", "2", "6");
        var (g, _) = CudaBackend.Compile(Write(t.Graph, "pad1"));
        using var plan = ShapePlanner.Plan(g, new EngineResources(), new Dictionary<string, long[]> { ["x"] = [2, 3] });
        Assert.Equal([2, 6], plan.Outputs["y"].Shape);
        // the fill broadcasts one uploaded 1 over the output, then x is copied into columns 2..4; no memset
        Assert.Single(plan.HostUploads, u => u.Value.Shape.SequenceEqual(new long[] { 1 }) && u.Data[0] == 1f);
        Assert.Contains(plan.Steps, s => s.Name.EndsWith("/fill"));
        Assert.DoesNotContain(plan.Steps, s => s.Name.EndsWith("/zero"));
    }
}
