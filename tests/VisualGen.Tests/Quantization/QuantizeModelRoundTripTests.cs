using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Demo;
using VisualGen.Quantization;
using VisualGen.Tensors;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>
/// <c>quantize --model</c> on a small random bf16 Wan transformer (inner dim 128, so FP8_BLOCK_SCALES' 128×128 blocks
/// take most linears), then <c>run-component</c> on the quantized checkpoint against the same run of a float checkpoint
/// whose weights this test dequantized itself from the written codes and scales. The written weights also dequantize
/// to exactly the library scheme's dequant of the original weight, and dynamic quantization at build time
/// (<c>--quant-algo</c>) computes the same as the written static checkpoint.
/// </summary>
public class QuantizeModelRoundTripTests
{
    static readonly DemoWanTransformer Config = new() { NumAttentionHeads = 8, AttentionHeadDim = 16, FfnDim = 256, NumLayers = 1, RopeMaxSeqLen = 32 };

    /// <summary>A model folder with only a bf16 Wan transformer; <paramref name="doubled"/> names a weight made twice as large.</summary>
    internal static string TinyModel(string? doubled = null)
    {
        string dir = Fixtures.TempDir("quant-model");
        File.WriteAllText(Path.Combine(dir, "model_index.json"), new JsonObject
        {
            ["_class_name"] = "WanPipeline",
            ["transformer"] = new JsonArray("diffusers", "WanTransformer3DModel"),
        }.ToJsonString());
        string t = Path.Combine(dir, "transformer");
        Directory.CreateDirectory(t);
        File.WriteAllText(Path.Combine(t, "config.json"), Config.Config().ToJsonString());
        SafeTensorsWriter.Write(Path.Combine(t, "diffusion_pytorch_model.safetensors"), Config.Parameters().Select(p =>
        {
            var bits = p.Draw(7, "transformer").Select(v => ElementConvert.FloatToBFloat16(p.Name == doubled ? 2 * v : v)).ToArray();
            return new TensorData(p.Name, TensorDType.BF16, p.Shape, MemoryMarshal.AsBytes(bits.AsSpan()).ToArray());
        }));
        return dir;
    }

    internal static string Inputs()
    {
        var rng = new Random(3);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        string path = Path.Combine(Fixtures.TempDir("quant-in"), "in.safetensors");
        SafeTensorsWriter.Write(path, [
            TensorData.Float32("x.hidden_states", [1, 16, 2, 4, 4], Draw(16 * 2 * 4 * 4)),
            TensorData.Float32("x.timestep", [1], [500f]),
            TensorData.Float32("x.encoder_hidden_states", [1, 5, 32], Draw(5 * 32)),
        ]);
        return path;
    }

    internal static float[] RunComponent(string model, string inputs, params string[] extra)
    {
        string output = Path.Combine(Fixtures.TempDir("quant-out"), "out.safetensors");
        var run = CliRun.Of(["run-component", "--model", model, "--component", "transformer", "--inputs", inputs, "--prefix", "x.",
            "--output", output, "--engine-cache", Fixtures.TempDir("quant-cache"), .. extra]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        using var file = SafeTensorsFile.Open(output);
        Assert.Equal([1L, 16, 2, 4, 4], file.Info("out").Shape);
        return file.ReadFloat32("out");
    }

    /// <summary>The quantized checkpoint with every quantized linear's weight dequantized here (float32), its scales
    /// dropped and quantization_config removed: what the quantized graph must compute.</summary>
    static string Dequantized(string quantizedModel, string originalModel, QuantAlgo algo)
    {
        string dir = Fixtures.TempDir("quant-ref");
        File.Copy(Path.Combine(quantizedModel, "model_index.json"), Path.Combine(dir, "model_index.json"));
        string t = Path.Combine(dir, "transformer");
        Directory.CreateDirectory(t);
        File.Copy(Path.Combine(originalModel, "transformer", "config.json"), Path.Combine(t, "config.json"));
        using var q = SafeTensorsFile.Open(Path.Combine(quantizedModel, "transformer", "diffusion_pytorch_model.safetensors"));
        using var original = SafeTensorsFile.Open(Path.Combine(originalModel, "transformer", "diffusion_pytorch_model.safetensors"));
        var tensors = new List<TensorData>();
        int dequantized = 0;
        foreach (string name in q.Names.Where(n => !n.Contains(".weight_scale") ))
        {
            var info = q.Info(name);
            string module = name.EndsWith(".weight", StringComparison.Ordinal) ? name[..^7] : "";
            if (!q.Contains(module + ".weight_scale"))
            {
                tensors.Add(new TensorData(name, info.DType, info.Shape, q.GetBytes(name).ToArray()));
                continue;
            }
            var o = original.Info(name);
            float[] w = Dequantize(q, module, algo, (int)o.Shape[0], (int)o.Shape[1]);
            // the written codes and scales are the library quantizer's, bit for bit
            QuantizationSchemeRegistry.CreateDefault().TryGet(algo.Scheme, out var scheme);
            var source = new SourceTensor(name, o.DType, o.Shape, original.ReadFloat32(name));
            var expected = (algo == QuantAlgo.Nvfp4 && SharedAmax(original, module) is { } amax
                ? new Nvfp4Scheme().Quantize(source, amax) : scheme.Quantize(source)).Floats("dequant");
            Assert.Equal(expected, w);
            tensors.Add(TensorData.Float32(name, o.Shape, w));
            dequantized++;
        }
        Assert.True(dequantized > 0);
        SafeTensorsWriter.Write(Path.Combine(t, "diffusion_pytorch_model.safetensors"), tensors);
        return dir;
    }

    /// <summary>NVFP4's q, k and v of one attention share the largest amax of the three.</summary>
    static float? SharedAmax(SafeTensorsFile original, string module)
    {
        string leaf = module[(module.LastIndexOf('.') + 1)..], parent = module[..(module.LastIndexOf('.') + 1)];
        if (leaf is not ("to_q" or "to_k" or "to_v")) return null;
        return new[] { "to_q", "to_k", "to_v" }.Max(p => original.ReadFloat32(parent + p + ".weight").Max(MathF.Abs));
    }

    static float[] Dequantize(SafeTensorsFile q, string module, QuantAlgo algo, int rows, int columns)
    {
        var codes = q.GetBytes(module + ".weight").ToArray();
        var w = new float[rows * columns];
        if (algo == QuantAlgo.Nvfp4)
        {
            var blockScales = q.GetBytes(module + ".weight_scale").ToArray();
            float scale2 = q.ReadFloat32(module + ".weight_scale_2")[0];
            for (int i = 0; i < w.Length; i++)
            {
                int code = (codes[i / 2] >> (i % 2 * 4)) & 0xf;
                int r = i / columns, c = i % columns;
                float step = E4M3.Decode(blockScales[r * (columns / 16) + c / 16]) * scale2;
                w[i] = E2M1.Decode((byte)code) * step;
            }
            return w;
        }
        var scales = q.ReadFloat32(module + ".weight_scale");
        int blockColumns = algo == QuantAlgo.Fp8 ? 1 : columns / 128;
        for (int i = 0; i < w.Length; i++)
        {
            int r = i / columns, c = i % columns;
            float s = algo == QuantAlgo.Fp8 ? scales[0] : scales[r / 128 * blockColumns + c / 128];
            w[i] = E4M3.Decode(codes[i]) * s;
        }
        return w;
    }

    [Theory]
    [InlineData("fp8", 16, 0)]
    [InlineData("fp8_block", 14, 2)]
    [InlineData("nvfp4", 16, 0)]
    public void Quantized_checkpoint_runs_as_its_dequantized_weights(string scheme, int quantized, int leftOut)
    {
        var algo = QuantAlgo.Parse(scheme, "test");
        string model = TinyModel();
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        var run = CliRun.Of(["quantize", "--model", model, "--scheme", scheme, "--output", target]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains($"transformer: {quantized} linear(s) quantized ({algo.Name}), {leftOut} left unquantized", run.Out);
        var written = QuantizationConfig.FromComponentConfig(Path.Combine(target, "transformer", "config.json"));
        Assert.NotNull(written);
        Assert.Equal(algo, written.Algo);
        Assert.Equal(leftOut, written.Ignore.Count);
        if (leftOut > 0)
        {
            // proj_out is [64, 128] and text_embedder.linear_1 [128, 32]: no multiples of 128; named in the log, ignored in the config
            Assert.Contains("proj_out left unquantized (FP8_BLOCK_SCALES): shape [64, 128] is not a multiple of FP8_BLOCK_SCALES's 128x128 blocks", run.Err);
            Assert.Contains("proj_out", written.Ignore);
        }

        string inputs = Inputs();
        float[] actual = RunComponent(target, inputs);
        float[] reference = RunComponent(Dequantized(target, model, algo), inputs);
        Compare.Component(reference, actual, $"{scheme} quantized checkpoint vs its dequantized weights", 1e-5);
        float[] unquantized = RunComponent(model, inputs);
        Assert.True(Compare.MaxAbs(unquantized, actual) > 1e-3, "the quantized checkpoint computes what the bf16 one does");
        // dynamic quantization of the bf16 checkpoint at build time is the same computation
        Assert.Equal(actual, RunComponent(model, inputs, "--quant-algo", algo.Name));
    }

    [Fact]
    public void Nvfp4_gives_q_k_and_v_of_one_attention_one_scale_2_written_and_dynamic()
    {
        string model = TinyModel(doubled: "blocks.0.attn2.to_k.weight");
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        Assert.Equal(ExitCode.Success, CliRun.Of(["quantize", "--model", model, "--scheme", "nvfp4", "--output", target]).Rc);
        using var q = SafeTensorsFile.Open(Path.Combine(target, "transformer", "diffusion_pytorch_model.safetensors"));
        using var original = SafeTensorsFile.Open(Path.Combine(model, "transformer", "diffusion_pytorch_model.safetensors"));
        foreach (string attention in new[] { "blocks.0.attn1", "blocks.0.attn2" })
        {
            float amax = new[] { "to_q", "to_k", "to_v" }.Max(p => original.ReadFloat32($"{attention}.{p}.weight").Max(MathF.Abs));
            foreach (string p in new[] { "to_q", "to_k", "to_v" })
                Assert.Equal(amax / (6f * 448f), q.ReadFloat32($"{attention}.{p}.weight_scale_2")[0]);
            if (attention.EndsWith("attn2", StringComparison.Ordinal))  // to_k, doubled, sets the scale of all three
                Assert.Equal(2 * original.ReadFloat32($"{attention}.to_q.weight").Max(MathF.Abs), amax);
            float own = original.ReadFloat32($"{attention}.to_out.0.weight").Max(MathF.Abs);
            Assert.Equal(own / (6f * 448f), q.ReadFloat32($"{attention}.to_out.0.weight_scale_2")[0]);
        }
        // dynamic NVFP4 at build time shares scale_2 the same way
        string inputs = Inputs();
        Assert.Equal(RunComponent(target, inputs), RunComponent(model, inputs, "--quant-algo", "NVFP4"));
    }

    /// <summary>wan21_t2v_nvfp4 is wan21_t2v's transformer quantized by ModelOpt: quantize --model with the fixture's
    /// ignore list writes its layout, its config and every weight_scale_2 (q, k and v sharing one) bit for bit.</summary>
    [ConformanceFact]
    public void Quantize_model_writes_the_nvfp4_fixture_layout_and_scales()
    {
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        string fixture = Path.Combine(Fixtures.Checkpoint("wan21_t2v_nvfp4"), "transformer");
        var expected = QuantizationConfig.FromComponentConfig(Path.Combine(fixture, "config.json"))!;
        var run = CliRun.Of(["quantize", "--model", Fixtures.Checkpoint("wan21_t2v"), "--scheme", "nvfp4", "--output", target,
            "--ignore", string.Join(",", expected.Ignore)]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        var written = QuantizationConfig.FromComponentConfig(Path.Combine(target, "transformer", "config.json"))!;
        Assert.Equal(expected.KeyText, written.KeyText);
        using var ours = SafeTensorsFile.Open(Path.Combine(target, "transformer", "diffusion_pytorch_model.safetensors"));
        using var theirs = SafeTensorsFile.Open(Path.Combine(fixture, "diffusion_pytorch_model.safetensors"));
        Assert.Equal(theirs.Names.Order(), ours.Names.Order());
        int scales = 0;
        foreach (string name in theirs.Names)
        {
            Assert.Equal(theirs.Info(name).DType, ours.Info(name).DType);
            Assert.Equal(theirs.Info(name).Shape, ours.Info(name).Shape);
            if (!name.EndsWith(".weight_scale_2", StringComparison.Ordinal)) continue;
            Assert.Equal(theirs.ReadFloat32(name), ours.ReadFloat32(name));
            scales++;
        }
        Assert.Equal(22, scales);
    }
}
