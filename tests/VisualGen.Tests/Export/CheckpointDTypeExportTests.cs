using VisualGen.Checkpoints;
using VisualGen.Engines.Cuda;
using VisualGen.Engines.Cuda.Runtime;
using VisualGen.Exporter.Models.Shared.T5;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Tensors;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

/// <summary>A bf16 checkpoint is exported in bf16 (each weight followed by a Cast to float32), not blown up to float32:
/// half the bytes, the same function on ONNX Runtime, the same fusions and packed weights on the native engine.</summary>
public class CheckpointDTypeExportTests
{
    /// <summary>Copies a component folder with every float32 weight rounded to bf16 twice: stored as BF16, and stored as
    /// the F32 values of those bf16 numbers (the reference: what a float32 export of the bf16 checkpoint computes).</summary>
    internal static (string Bf16Dir, string F32Dir) Bf16Copies(string componentDir, string name)
    {
        string root = Fixtures.TempDir("bf16-" + name);
        string bf = Path.Combine(root, "bf16"), f32 = Path.Combine(root, "f32");
        Directory.CreateDirectory(bf); Directory.CreateDirectory(f32);
        File.Copy(Path.Combine(componentDir, "config.json"), Path.Combine(bf, "config.json"));
        File.Copy(Path.Combine(componentDir, "config.json"), Path.Combine(f32, "config.json"));
        string file = Directory.GetFiles(componentDir, "*.safetensors").Single();
        using var src = SafeTensorsFile.Open(file);
        var bfTensors = new List<TensorData>();
        var f32Tensors = new List<TensorData>();
        foreach (var n in src.Names)
        {
            var info = src.Info(n);
            if (info.DType != TensorDType.F32) { var raw = src.GetBytes(n).ToArray(); bfTensors.Add(new(n, info.DType, info.Shape, raw)); f32Tensors.Add(new(n, info.DType, info.Shape, raw)); continue; }
            var v = src.ReadFloat32(n);
            var bits = v.Select(ElementConvert.FloatToBFloat16).ToArray();
            bfTensors.Add(new(n, TensorDType.BF16, info.Shape, System.Runtime.InteropServices.MemoryMarshal.AsBytes(bits.AsSpan()).ToArray()));
            f32Tensors.Add(TensorData.Float32(n, info.Shape, bits.Select(ElementConvert.BFloat16ToFloat).ToArray()));
        }
        SafeTensorsWriter.Write(Path.Combine(bf, Path.GetFileName(file)), bfTensors);
        SafeTensorsWriter.Write(Path.Combine(f32, Path.GetFileName(file)), f32Tensors);
        return (bf, f32);
    }

    [ConformanceFact]
    public void Bf16_transformer_exports_in_bf16_and_runs_as_its_float32_export_does()
    {
        var (bfDir, f32Dir) = Bf16Copies(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "transformer"), "wan");
        using var bfWeights = SafeTensorsFile.Open(Directory.GetFiles(bfDir, "*.safetensors").Single());
        using var f32Weights = SafeTensorsFile.Open(Directory.GetFiles(f32Dir, "*.safetensors").Single());
        var bfGraph = WanTransformer3D.Trace(bfDir, bfWeights);
        var f32Graph = WanTransformer3D.Trace(f32Dir, f32Weights);
        // every checkpoint weight stays bf16 (the float32 constants left are the exporter's own tables)
        Assert.Contains(bfGraph.Initializers, i => i.Value.DType == TensorDType.BF16);
        Assert.DoesNotContain(bfGraph.Initializers, i => i.Value.DType == TensorDType.F32 && i.Data is Exporter.Graph.CheckpointData);
        Assert.InRange(bfGraph.InitializerBytes, f32Graph.InitializerBytes * 0.45, f32Graph.InitializerBytes * 0.6);

        using var golden = Fixtures.Golden("wan21_t2v");
        var inputs = new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.hidden_states"),
            ["timestep"] = Fixtures.GoldenTensor(golden, "transformer.in.timestep"),
            ["encoder_hidden_states"] = Fixtures.GoldenTensor(golden, "transformer.in.encoder_hidden_states"),
        };
        using var bfEngine = OrtTestEngine.Build(bfGraph, "transformer");
        using var f32Engine = OrtTestEngine.Build(f32Graph, "transformer");
        var a = bfEngine.Run(inputs)["sample"].Floats;
        var b = f32Engine.Run(inputs)["sample"].Floats;
        Assert.True(Compare.MaxAbs(b, a) <= 1e-6, $"bf16 export vs float32 export of the same values: {Compare.MaxAbs(b, a):g3}");

        // the native engine fuses the bf16 export exactly as the float32 one and packs the same bf16 [N, K] weights
        string bfPath = Path.Combine(Fixtures.TempDir("bf16-onnx"), "model.onnx"), f32Path = Path.Combine(Fixtures.TempDir("f32-onnx"), "model.onnx");
        new OnnxWriter().Write(bfGraph, bfPath);
        new OnnxWriter().Write(f32Graph, f32Path);
        var (gb, rb) = CudaBackend.Compile(bfPath);
        var (gf, rf) = CudaBackend.Compile(f32Path);
        Assert.Equal(rf.ToString(), rb.ToString());
        // beside the fused ops, the bf16 graph keeps only the casts of small weights (norms, modulation tables), which fold
        // at plan time
        var casts = gb.Nodes.Where(n => n.Op == "Cast" && gb.Constants.TryGetValue(n.Inputs[0]!, out var c) && c.DType == TensorDType.BF16).ToList();
        Assert.All(casts, n => Assert.True(gb.Constants[n.Inputs[0]!].Count <= 1 << 16, $"{n.Name} casts a large weight"));
        Assert.Equal(gf.Nodes.Select(n => n.Op), gb.Nodes.Except(casts).Select(n => n.Op));
        foreach (var lin in gf.Nodes.Where(n => n.Op == "VgLinear"))
        {
            var other = gb.Nodes.Single(n => n.Op == "VgLinear" && n.Name == lin.Name);
            Assert.Equal(gf.Constants[lin.Inputs[1]!].Bytes, gb.Constants[other.Inputs[1]!].Bytes);
            Assert.Equal(lin.Inputs[2] is null, other.Inputs[2] is null);   // the bias epilogue is fused in both
        }
        using var res = new EngineResources();
        using var plan = ShapePlanner.Plan(gb, res, inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape));
        Assert.Equal(inputs["hidden_states"].Shape, plan.Outputs["sample"].Shape);
    }

    [ConformanceFact]
    public void Bf16_umt5_and_vae_fuse_their_embedding_and_convolutions()
    {
        var (bfDir, _) = Bf16Copies(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "text_encoder"), "umt5");
        using var w = SafeTensorsFile.Open(Directory.GetFiles(bfDir, "*.safetensors").Single());
        string path = Path.Combine(Fixtures.TempDir("bf16-umt5"), "model.onnx");
        new OnnxWriter().Write(T5Encoder.Trace(bfDir, w), path);
        var (g, report) = CudaBackend.Compile(path);
        Assert.Equal(1, report.Counts["VgGather"]);
        Assert.Equal(14, report.Counts["VgLinear"]);
        using var res = new EngineResources();
        using var plan = ShapePlanner.Plan(g, res, new Dictionary<string, long[]> { ["input_ids"] = [1, 16], ["attention_mask"] = [1, 16] });
        Assert.Equal([1, 16, 32], plan.Outputs["last_hidden_state"].Shape);

        var (vaeDir, _) = Bf16Copies(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "vae"), "vae");
        using var vw = SafeTensorsFile.Open(Directory.GetFiles(vaeDir, "*.safetensors").Single());
        string vpath = Path.Combine(Fixtures.TempDir("bf16-vae"), "model.onnx");
        new OnnxWriter().Write(Exporter.Models.Wan.Vae.AutoencoderKLWan.TraceDecoder(vaeDir, vw, Exporter.Models.Wan.Vae.WanChunk.First), vpath);
        var (vg, vr) = CudaBackend.Compile(vpath);
        Assert.Equal(22, vr.Counts["VgChannelNorm"]);
        Assert.DoesNotContain(vg.Nodes, n => n.Op == "Conv" && !n.Inputs[1]!.EndsWith("#f32"));
    }
}
