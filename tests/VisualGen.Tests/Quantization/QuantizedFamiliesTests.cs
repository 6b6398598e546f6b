using System.Text.RegularExpressions;
using VisualGen.Cli;
using VisualGen.Pipelines;
using VisualGen.Quantization;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>Every DiT family's transformer quantizes (FLUX.2, Cosmos3 and LTX-2 here; Wan, FLUX.1 and Qwen-Image in the
/// other quantization tests): a dynamic FP8 build quantizes its linears and moves the output a little, and the
/// checkpoint <c>quantize --model</c> writes from the same weights runs to exactly the same output.</summary>
public sealed class QuantizedFamiliesTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-quant-families");

    public void Dispose() => Directory.Delete(_dir, true);

    Task<(float[] Output, List<string> Log)> Generate(string model, QuantizationConfig? quantization, GenerationRequest request) =>
        QuantizationEntryPointsTests.Generate(model, Path.Combine(_dir, "engines"), quantization, request);

    static int QuantizedLinears(List<string> log, string how)
    {
        var line = log.Single(l => l.TrimStart().StartsWith("transformer: ", StringComparison.Ordinal) && l.Contains($"(FP8, {how})"));
        return int.Parse(Regex.Match(line, @"transformer: (\d+) linear\(s\) quantized").Groups[1].Value);
    }

    [ConformanceTheory]
    [InlineData("flux2")]
    [InlineData("cosmos3_t2i")]
    [InlineData("ltx2")]
    public async Task Dynamic_fp8_quantizes_the_transformer_as_the_quantized_checkpoint_does(string family)
    {
        GenerationRequest request;
        using (var golden = Fixtures.Golden(family)) request = ConformancePipelines.RequestFromGolden(family, golden);
        string model = Fixtures.Checkpoint(family);
        var (plain, _) = await Generate(model, null, request);
        var (dynamic, log) = await Generate(model, new QuantizationConfig(QuantAlgo.Fp8, []), request);
        int quantized = QuantizedLinears(log, "quantized now");
        Assert.True(quantized > 0, $"{family}: no linear quantized");
        // the components FP8 leaves alone say so
        Assert.Contains(log, l => l.Contains("vae") && l.Contains(": not quantized (") && l.Contains("FP8 quantizes the diffusion transformers' linears"));
        Assert.NotEqual(plain, dynamic);
        double dot = 0, a = 0, b = 0;
        for (int i = 0; i < plain.Length; i++) { dot += (double)plain[i] * dynamic[i]; a += (double)plain[i] * plain[i]; b += (double)dynamic[i] * dynamic[i]; }
        Assert.True(dot / Math.Sqrt(a * b) > 0.99, $"{family}: FP8 output cosine {dot / Math.Sqrt(a * b):F5} against the float output");

        string stored = Path.Combine(_dir, family + "_fp8");
        var run = CliRun.Of(["quantize", "--model", model, "--scheme", "fp8", "--output", stored]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        var (fromCheckpoint, storedLog) = await Generate(stored, null, request);
        Assert.Equal(quantized, QuantizedLinears(storedLog, "stored in the checkpoint"));
        Assert.Equal(dynamic, fromCheckpoint);
    }
}
