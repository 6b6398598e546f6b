using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>
/// The static ModelOpt checkpoints (wan21_t2v_fp8, wan21_t2v_nvfp4) through the CLI as
/// ../shared/tools/conformance/quant_check.py forward drives it: run-component on golden.safetensors' transformer.in.*,
/// "out" against the fp32 fake-quant reference transformer.out within max abs 1e-4·max(|ref|, 1) (ONNX Runtime CPU
/// dequantizes exactly). The unquantized reference is far outside that tolerance, so the quantized path is what passes.
/// </summary>
public class QuantizedCheckpointConformanceTests
{
    [ConformanceTheory]
    [InlineData("wan21_t2v_fp8", "FP8")]
    [InlineData("wan21_t2v_nvfp4", "NVFP4")]
    public void Run_component_matches_the_fake_quant_reference(string family, string algo)
    {
        string output = Path.Combine(Fixtures.TempDir("quant-fwd"), "out.safetensors");
        var run = CliRun.Of(["run-component", "--model", Fixtures.Checkpoint(family), "--component", "transformer",
            "--inputs", Path.Combine(Fixtures.Family(family), "golden.safetensors"), "--prefix", "transformer.in.",
            "--output", output, "--engine-cache", Fixtures.TempDir("quant-cache")]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);

        using var golden = Fixtures.Golden(family);
        using var written = SafeTensorsFile.Open(output);
        Assert.Equal(golden.Info("transformer.out").Shape, written.Info("out").Shape);
        float[] reference = golden.ReadFloat32("transformer.out"), unquantized = golden.ReadFloat32("transformer.out_unquantized");
        float[] actual = written.ReadFloat32("out");
        double tolerance = 1e-4 * Math.Max(Compare.MaxAbsRef(reference), 1);
        Assert.True(Compare.MaxAbs(reference, actual) <= tolerance, $"{family}: max abs {Compare.MaxAbs(reference, actual):g3} > {tolerance:g3}");
        Assert.True(Compare.MaxAbs(unquantized, actual) > 10 * tolerance, $"{family}: the output is the unquantized model's");
        Assert.Contains($"22 linear(s) quantized ({algo}, stored in the checkpoint), 0 left unquantized", run.Err);
    }
}
