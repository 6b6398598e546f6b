using VisualGen.Checkpoints;
using VisualGen.Engines;
using VisualGen.Engines.Cuda;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Exporter.Onnx;
using VisualGen.Exporter.Quantization;
using VisualGen.Quantization;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cuda;

/// <summary>The native CUDA engine refuses graphs with quantized linears at build time, naming what it lacks (FP8 and
/// NVFP4 GEMMs) and where they run instead, before it reads any float8 constant. Checked without a GPU.</summary>
public class QuantizedGraphRefusalTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v_fp8", "DequantizeLinear, QuantizeLinear")]
    [InlineData("wan21_t2v_nvfp4", "BitShift, BitwiseAnd")]
    public void Quantized_transformer_is_refused_naming_the_missing_support(string family, string ops)
    {
        string dir = Path.Combine(Fixtures.Checkpoint(family), "transformer");
        var config = QuantizationConfig.FromComponentConfig(Path.Combine(dir, "config.json"))!;
        using var weights = ComponentWeights.Open(dir);
        string path = Path.Combine(Fixtures.TempDir("cuda-quant"), "model.onnx");
        new OnnxWriter().Write(WanTransformer3D.Trace(dir, weights, quantization: new QuantizedLinears(config, fromCheckpoint: true)), path);
        var e = Assert.Throws<EngineException>(() => CudaBackend.Compile(path));
        Assert.Contains("the graph has quantized linears", e.Message);
        Assert.Contains(ops, e.Message);
        Assert.Contains("the native CUDA engine has no FP8 or NVFP4 GEMMs yet. Run quantized checkpoints on ONNX Runtime (--engine ort-cpu or ort-cuda).", e.Message);
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
    }
}
