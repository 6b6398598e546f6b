using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Tensors;
using VisualGen.Cli;
using VisualGen.Quantization;
using VisualGen.Server.Hosting;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>Dynamic quantization from the API (<see cref="VisualGenOptions.Quantization"/>), the CLI's generate and
/// build, and the server's options; a whole pipeline on a static quantized checkpoint.</summary>
public sealed class QuantizationEntryPointsTests : IDisposable
{
    readonly string _dir = Fixtures.TempDir("vg-quant-entry");
    string Model => DemoModel.EnsureCreated(Path.Combine(_dir, "model"));

    public void Dispose() => Directory.Delete(_dir, true);

    /// <summary>One generation through the API under <paramref name="quantization"/>, with the lines it logged.</summary>
    internal static async Task<(float[] Output, List<string> Log)> Generate(string model, string cacheDir, QuantizationConfig? quantization,
        VisualGen.Pipelines.GenerationRequest request)
    {
        var lines = new List<string>();
        using var pipeline = VisualGenPipeline.Load(model, new VisualGenOptions
        {
            EngineCacheDirectory = cacheDir, Quantization = quantization, Log = l => { lock (lines) lines.Add(l); },
        });
        var result = await pipeline.GenerateAsync(request);
        return (result.Output.Floats, lines);
    }

    Task<(float[] Output, List<string> Log)> Generate(string model, QuantizationConfig? quantization) =>
        Generate(model, Path.Combine(_dir, "engines"), quantization, VisualGenPipeline.DemoRequest("a fox") with { Seed = 1, NumInferenceSteps = 2 });

    [Fact]
    public async Task Api_dynamic_quantization_runs_as_the_quantized_checkpoint_does()
    {
        var (plain, _) = await Generate(Model, null);
        var (dynamic, log) = await Generate(Model, new QuantizationConfig(QuantAlgo.Fp8, []));
        Assert.Contains(log, l => l.Contains("transformer: 26 linear(s) quantized (FP8, quantized now), 0 left unquantized"));
        Assert.NotEqual(plain, dynamic);

        string quantized = Path.Combine(_dir, "fp8");
        Assert.Equal(ExitCode.Success, CliRun.Of(["quantize", "--model", Model, "--scheme", "fp8", "--output", quantized]).Rc);
        var (stored, storedLog) = await Generate(quantized, null);
        Assert.Contains(storedLog, l => l.Contains("transformer: 26 linear(s) quantized (FP8, stored in the checkpoint), 0 left unquantized"));
        Assert.Equal(dynamic, stored);
    }

    [Fact]
    public async Task Dynamic_quantization_of_a_bf16_checkpoint_runs_as_its_quantize_model_output_does()
    {
        // the demo model with a bf16 transformer: an engine build quantizes its FP8 weights from the stored 16-bit
        // values (Fp8PerTensorScheme.QuantizeStored), `quantize --model` through the scheme's Quantize; same bytes
        string bf16 = Path.Combine(_dir, "bf16");
        Fixtures.CopyDirectory(Model, bf16);
        string file = Path.Combine(bf16, "transformer", "diffusion_pytorch_model.safetensors");
        List<TensorData> tensors;
        using (var source = SafeTensorsFile.Open(file))
            tensors = source.Names.Select(n => new TensorData(n, TensorDType.BF16, source.Info(n).Shape,
                ElementConvert.FromFloat32(source.ReadFloat32(n), TensorDType.BF16))).ToList();
        SafeTensorsWriter.Write(file, tensors);

        var (dynamic, log) = await Generate(bf16, new QuantizationConfig(QuantAlgo.Fp8, []));
        Assert.Contains(log, l => l.Contains("transformer: 26 linear(s) quantized (FP8, quantized now), 0 left unquantized"));
        string quantized = Path.Combine(_dir, "bf16-fp8");
        Assert.Equal(ExitCode.Success, CliRun.Of(["quantize", "--model", bf16, "--scheme", "fp8", "--output", quantized]).Rc);
        var (stored, _) = await Generate(quantized, null);
        Assert.Equal(dynamic, stored);
    }

    [Fact]
    public void Cli_generate_and_build_take_the_quantization_flags()
    {
        string cache = Path.Combine(_dir, "engines");
        var build = CliRun.Of(["build", "--model", Model, "--components", "transformer", "--engine-cache", cache, "--quant-algo", "nvfp4"]);
        Assert.True(build.Rc == ExitCode.Success, build.Err);
        Assert.Contains("transformer: 26 linear(s) quantized (NVFP4, quantized now)", build.Err);
        var generate = CliRun.Of(["generate", "--model", Model, "--prompt", "a fox", "--height", "32", "--width", "48", "--frames", "5",
            "--steps", "2", "--output", Path.Combine(_dir, "out.png"), "--engine-cache", cache,
            "--quant-algo", "NVFP4", "--quant-ignore", "condition_embedder.*"]);
        Assert.True(generate.Rc == ExitCode.Success, generate.Err);
        Assert.Contains("transformer: 21 linear(s) quantized (NVFP4, quantized now), 0 left unquantized", generate.Err);
    }

    [Fact]
    public void Server_options_take_the_quantization_flags()
    {
        var o = ServerOptions.Parse(["--quant-algo", "FP8_BLOCK_SCALES", "--quant-ignore", "proj_out,blocks.*.ffn.*"], _ => null);
        Assert.Equal(new QuantizationConfig(QuantAlgo.Fp8Block, ["proj_out", "blocks.*.ffn.*"]).KeyText, o.Quantization!.KeyText);
        Assert.Contains("unknown quant_algo 'int4'", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--quant-algo", "int4"], _ => null)).Message);
        Assert.Contains("--quant-ignore needs --quant-algo", Assert.Throws<ArgumentException>(() => ServerOptions.Parse(["--quant-ignore", "x"], _ => null)).Message);
    }

    [ConformanceFact]
    public void Generate_runs_a_static_quantized_checkpoint_end_to_end()
    {
        var run = CliRun.Of(["generate", "--model", Fixtures.Checkpoint("wan21_t2v_fp8"), "--prompt", "a fox", "--height", "32", "--width", "48",
            "--frames", "5", "--steps", "2", "--output", Path.Combine(_dir, "fp8.png"), "--engine-cache", Path.Combine(_dir, "engines")]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains("transformer: 22 linear(s) quantized (FP8, stored in the checkpoint), 0 left unquantized", run.Err);
    }
}
