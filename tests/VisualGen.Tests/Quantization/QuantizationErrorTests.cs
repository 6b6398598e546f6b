using System.Text.Json.Nodes;
using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Engines;
using VisualGen.Quantization;
using VisualGen.Tests.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Quantization;

/// <summary>Quantization configs from checkpoints and flags: clear errors for what VisualGen cannot take, ignore
/// patterns, and the engine cache keeping quantized and unquantized builds apart.</summary>
public class QuantizationErrorTests
{
    static CliRun RunComponent(string model, string cache, params string[] extra) =>
        RunComponentOn(model, QuantizeModelRoundTripTests.Inputs(), cache, extra);

    static CliRun RunComponentOn(string model, string inputs, string cache, params string[] extra) =>
        CliRun.Of(["run-component", "--model", model, "--component", "transformer", "--inputs", inputs,
            "--prefix", "x.", "--output", Path.Combine(Fixtures.TempDir("quant-out"), "out.safetensors"), "--engine-cache", cache, .. extra]);

    static string Quantized(string scheme)
    {
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        Assert.Equal(ExitCode.Success, CliRun.Of(["quantize", "--model", QuantizeModelRoundTripTests.TinyModel(), "--scheme", scheme, "--output", target]).Rc);
        return target;
    }

    [Fact]
    public void Quantize_model_writes_an_output_folder_named_with_a_trailing_separator()
    {
        // "q/" staged the copy inside the target ("q/.tmp-PID"), so the final move found "q/" there: an IOException, exit 1,
        // and an empty "q/" left behind that the next run refused as existing
        string parent = Fixtures.TempDir("quant-target"), target = Path.Combine(parent, "q");
        var run = CliRun.Of(["quantize", "--model", QuantizeModelRoundTripTests.TinyModel(), "--scheme", "fp8", "--output", target + Path.DirectorySeparatorChar]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains($"wrote {target}", run.Out);
        Assert.Equal(["q"], Directory.GetFileSystemEntries(parent).Select(p => Path.GetFileName(p)).ToArray());
        Assert.Equal(QuantAlgo.Parse("fp8", "test"), QuantizationConfig.FromComponentConfig(Path.Combine(target, "transformer", "config.json"))?.Algo);
    }

    [Fact]
    public void Unknown_quant_algo_in_a_checkpoint_is_an_error_naming_the_file_and_the_known_ones()
    {
        string model = Quantized("fp8");
        string config = Path.Combine(model, "transformer", "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["quantization_config"]!["quant_algo"] = "INT4_AWQ";
        File.WriteAllText(config, json.ToJsonString());
        var run = RunComponent(model, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: {config}: quantization_config: unknown quant_algo 'INT4_AWQ' (known: FP8, FP8_BLOCK_SCALES, NVFP4)", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Run_component_refuses_an_output_it_cannot_write_before_building()
    {
        string cache = Fixtures.TempDir("quant-cache");
        string folder = Fixtures.TempDir("out-folder");
        var run = CliRun.Of(["run-component", "--model", QuantizeModelRoundTripTests.TinyModel(), "--component", "transformer",
            "--inputs", QuantizeModelRoundTripTests.Inputs(), "--prefix", "x.", "--output", folder, "--engine-cache", cache]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: --output {folder}: is a folder; name the safetensors file to write", Assert.Single(run.ErrorLines));
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }

    [Fact]
    public void Run_component_checks_each_input_against_the_graph_and_reads_integer_timesteps_as_floats()
    {
        // a wrong size or kind reached ONNX Runtime, whose message came back as a failure (exit 1), not a usage error
        var rng = new Random(3);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        string Write(string name, params TensorData[] tensors)
        {
            string path = Path.Combine(Fixtures.TempDir("quant-in"), name);
            SafeTensorsWriter.Write(path, tensors);
            return path;
        }
        var hidden = TensorData.Float32("x.hidden_states", [1, 16, 2, 4, 4], Draw(16 * 2 * 4 * 4));
        var text = TensorData.Float32("x.encoder_hidden_states", [1, 5, 32], Draw(5 * 32));
        string model = QuantizeModelRoundTripTests.TinyModel(), cache = Fixtures.TempDir("quant-cache");
        CliRun Run(string inputs) => RunComponentOn(model, inputs, cache);

        string narrow = Write("narrow.safetensors", hidden, TensorData.Float32("x.timestep", [1], [500f]), TensorData.Float32("x.encoder_hidden_states", [1, 5, 16], Draw(5 * 16)));
        var run = Run(narrow);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --inputs {narrow}: 'x.encoder_hidden_states' has shape [1, 5, 16]; the component takes float32 [batch, text_len, 32] (dimension 2 must be 32)", Assert.Single(run.ErrorLines));

        string flat = Write("flat.safetensors", TensorData.Float32("x.hidden_states", [16, 2, 4, 4], Draw(16 * 2 * 4 * 4)), TensorData.Float32("x.timestep", [1], [500f]), text);
        run = Run(flat);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.StartsWith($"error: --inputs {flat}: 'x.hidden_states' has shape [16, 2, 4, 4]; the component takes float32 [", Assert.Single(run.ErrorLines));

        // an int64 timestep is the float timestep's value
        string ints = Write("int-timestep.safetensors", hidden, TensorData.Int64("x.timestep", [1], [500]), text);
        string floats = Write("float-timestep.safetensors", hidden, TensorData.Float32("x.timestep", [1], [500f]), text);
        Assert.Equal(QuantizeModelRoundTripTests.RunComponent(model, floats), QuantizeModelRoundTripTests.RunComponent(model, ints));
    }

    [Fact]
    public void Run_component_refuses_inputs_whose_shared_sizes_disagree()
    {
        // hidden_states, timestep and encoder_hidden_states share 'batch': a timestep of another batch reached ONNX
        // Runtime, whose broadcast error (a node name, exit 1) did not say which input was wrong
        var rng = new Random(5);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        string inputs = Path.Combine(Fixtures.TempDir("quant-in"), "batches.safetensors");
        SafeTensorsWriter.Write(inputs, [TensorData.Float32("x.hidden_states", [2, 16, 2, 4, 4], Draw(2 * 16 * 2 * 4 * 4)),
            TensorData.Float32("x.timestep", [3], [500f, 500f, 500f]), TensorData.Float32("x.encoder_hidden_states", [2, 5, 32], Draw(2 * 5 * 32))]);
        var run = RunComponentOn(QuantizeModelRoundTripTests.TinyModel(), inputs, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --inputs {inputs}: 'x.timestep' has shape [3]; the component takes float32 [batch], " +
            "and 'batch' is 2 in 'x.hidden_states' (dimension 0 must be 2)", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Run_component_refuses_an_input_with_an_empty_dimension()
    {
        // a batch of 0 reached ONNX Runtime, whose internal message came back as a failure (exit 1)
        var rng = new Random(7);
        float[] Draw(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        string inputs = Path.Combine(Fixtures.TempDir("quant-in"), "empty-batch.safetensors");
        SafeTensorsWriter.Write(inputs, [TensorData.Float32("x.hidden_states", [0, 16, 2, 4, 4], []),
            TensorData.Float32("x.timestep", [0], []), TensorData.Float32("x.encoder_hidden_states", [0, 5, 32], Draw(0))]);
        var run = RunComponentOn(QuantizeModelRoundTripTests.TinyModel(), inputs, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --inputs {inputs}: 'x.hidden_states' has shape [0, 16, 2, 4, 4]; the component takes float32 [batch, 16, frames, height, width] " +
            "(dimension 0, 'batch', is 0; every size must be at least 1)", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Run_component_refuses_an_output_that_names_its_inputs_and_keeps_them()
    {
        string cache = Fixtures.TempDir("quant-cache"), inputs = QuantizeModelRoundTripTests.Inputs();
        byte[] before = File.ReadAllBytes(inputs);
        var run = CliRun.Of(["run-component", "--model", QuantizeModelRoundTripTests.TinyModel(), "--component", "transformer",
            "--inputs", inputs, "--prefix", "x.", "--output", inputs, "--engine-cache", cache]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --output {inputs} is the --inputs file; name another file (the output replaces the file it names)", Assert.Single(run.ErrorLines));
        Assert.Equal(before, File.ReadAllBytes(inputs));
        Assert.Empty(Directory.EnumerateFileSystemEntries(cache));
    }

    [Fact]
    public void A_prefix_without_its_dot_is_refused_with_the_prefix_that_names_the_inputs()
    {
        string cache = Fixtures.TempDir("quant-cache"), inputs = QuantizeModelRoundTripTests.Inputs();
        var run = CliRun.Of(["run-component", "--model", QuantizeModelRoundTripTests.TinyModel(), "--component", "transformer",
            "--inputs", inputs, "--prefix", "x", "--output", Path.Combine(Fixtures.TempDir("quant-out"), "out.safetensors"), "--engine-cache", cache]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal($"error: --inputs {inputs} lacks 'xhidden_states', 'xtimestep', 'xencoder_hidden_states' " +
            "(transformer takes hidden_states, timestep, encoder_hidden_states); did you mean --prefix x.?", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Unknown_quant_method_is_an_error()
    {
        string model = Quantized("nvfp4");
        string config = Path.Combine(model, "transformer", "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["quantization_config"]!["quant_method"] = "gptq";
        File.WriteAllText(config, json.ToJsonString());
        var run = RunComponent(model, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Contains("quant_method 'gptq' is not supported", Assert.Single(run.ErrorLines));
    }

    [Theory]
    [InlineData("fp8", "weight_scale", float.NaN)]
    [InlineData("fp8_block", "weight_scale", float.PositiveInfinity)]
    [InlineData("nvfp4", "weight_scale_2", -1f)]
    public void A_stored_scale_that_is_not_finite_or_is_negative_is_an_error_naming_it(string scheme, string part, float value)
    {
        // such a scale made every output value NaN (or wrong) without a word
        string model = Quantized(scheme);
        string weights = Path.Combine(model, "transformer", "diffusion_pytorch_model.safetensors");
        string name = "blocks.0.attn1.to_q." + part;
        var tensors = new List<TensorData>();
        using (var file = SafeTensorsFile.Open(weights))
            foreach (string n in file.Names)
            {
                var info = file.Info(n);
                byte[] bytes = file.GetBytes(n).ToArray();
                if (n == name) BitConverter.TryWriteBytes(bytes.AsSpan(bytes.Length - 4), value);
                tensors.Add(new TensorData(n, info.DType, info.Shape, bytes));
            }
        SafeTensorsWriter.Write(weights, tensors);
        var run = RunComponent(model, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Failure, run.Rc);
        string error = Assert.Single(run.ErrorLines);
        Assert.Contains($"'{name}'", error);
        Assert.EndsWith($"is {value.ToString(System.Globalization.CultureInfo.InvariantCulture)}; a quantization scale must be finite and not negative", error);
    }

    [Fact]
    public void Quant_algo_of_the_wrong_type_is_an_error_naming_the_file()
    {
        string model = Quantized("fp8");
        string config = Path.Combine(model, "transformer", "config.json");
        var json = JsonNode.Parse(File.ReadAllText(config))!;
        json["quantization_config"]!["quant_algo"] = 8;
        File.WriteAllText(config, json.ToJsonString());
        var run = RunComponent(model, Fixtures.TempDir("quant-cache"));
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.StartsWith($"error: {config}: quantization_config: a value has the wrong type", Assert.Single(run.ErrorLines));
    }

    [Theory]
    [InlineData("\"FP8\"", "string")]
    [InlineData("8", "number")]
    [InlineData("[\"FP8\"]", "array")]
    public void A_quantization_config_that_is_not_an_object_is_named(string value, string kind)
    {
        // it was taken for no config: the quantized weights then failed as unused tensors
        string config = Path.Combine(Fixtures.TempDir("quant-config"), "config.json");
        File.WriteAllText(config, $$"""{"_class_name": "WanTransformer3DModel", "quantization_config": {{value}}}""");
        var e = Assert.Throws<QuantizationException>(() => QuantizationConfig.FromComponentConfig(config));
        Assert.Equal($"{config}: quantization_config is {kind}; a ModelOpt checkpoint's is an object with quant_algo (FP8, FP8_BLOCK_SCALES, NVFP4)", e.Message);
        File.WriteAllText(config, """{"_class_name": "WanTransformer3DModel", "quantization_config": null}""");
        Assert.Null(QuantizationConfig.FromComponentConfig(config));  // null: not quantized, as when absent
    }

    [Fact]
    public void Dynamic_quantization_of_a_quantized_checkpoint_is_refused()
    {
        var run = RunComponent(Quantized("fp8"), Fixtures.TempDir("quant-cache"), "--quant-algo", "NVFP4");
        Assert.Equal(ExitCode.Usage, run.Rc);  // a request the checkpoint refuses (it was exit 1)
        Assert.Contains("component 'transformer' is already quantized (FP8); dynamic quantization (NVFP4) takes unquantized checkpoints", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Quantizing_a_quantized_checkpoint_is_refused_and_writes_nothing()
    {
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "again");
        var run = CliRun.Of(["quantize", "--model", Quantized("fp8_block"), "--scheme", "fp8", "--output", target]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains("is already quantized (FP8_BLOCK_SCALES); quantize takes unquantized checkpoints", Assert.Single(run.ErrorLines));
        Assert.False(Directory.Exists(target));
    }

    [Theory]
    [InlineData("fp8_block", new[] { "--ignore", "blocks.*,condition_embedder.*" }, "FP8_BLOCK_SCALES quantizes none of component 'transformer''s linears (1 left unquantized, each named above with the reason); nothing was written")]
    [InlineData("fp8", new[] { "--ignore", "*" }, "FP8 quantizes none of component 'transformer''s linears (--ignore matches them all); nothing was written")]
    public void A_scheme_that_quantizes_no_linear_is_refused_and_writes_nothing(string scheme, string[] flags, string expected)
    {
        // what the ignore list leaves, the scheme's blocks do not divide (proj_out [64, 128] against FP8_BLOCK_SCALES'
        // 128x128): a "quantized" checkpoint with no linear quantized was written without a word
        string model = QuantizeModelRoundTripTests.TinyModel();
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        var run = CliRun.Of(["quantize", "--model", model, "--scheme", scheme, "--output", target, .. flags]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.EndsWith(expected, Assert.Single(run.ErrorLines));
        Assert.False(Directory.Exists(target));
        Assert.Empty(Directory.GetFileSystemEntries(Path.GetDirectoryName(target)!));
    }

    [Fact]
    public void An_ignore_pattern_that_matches_no_module_is_refused_naming_it()
    {
        // a typo ignored nothing and every linear was quantized without a word; a pattern naming a module that is no
        // linear (ModelOpt's lists name patch_embedding) still names something and is kept
        string model = QuantizeModelRoundTripTests.TinyModel();
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        var run = CliRun.Of(["quantize", "--model", model, "--scheme", "fp8", "--output", target, "--ignore", "proj_out,blocks.*.ffm.*,proj_ot"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.StartsWith("error: --ignore 'blocks.*.ffm.*', 'proj_ot': matches no module of 'transformer'", Assert.Single(run.ErrorLines));
        Assert.False(Directory.Exists(target));

        // the same for the build-time --quant-ignore, and the same usage error (exit 2): it exited 1, as for a bad checkpoint
        var build = CliRun.Of(["build", "--model", model, "--components", "transformer", "--engine-cache", Fixtures.TempDir("quant-cache"),
            "--quant-algo", "fp8", "--quant-ignore", "proj_out,proj_ot"]);
        Assert.Equal(ExitCode.Usage, build.Rc);
        Assert.StartsWith("error: quantization ignore pattern(s) 'proj_ot' match no module of 'transformer'", Assert.Single(build.ErrorLines));
        Assert.DoesNotContain("tracing", build.Err);
        var component = RunComponent(model, Fixtures.TempDir("quant-cache"), "--quant-algo", "fp8", "--quant-ignore", "blocks.*.ffm.*");
        Assert.Equal(ExitCode.Usage, component.Rc);
        Assert.StartsWith("error: quantization ignore pattern(s) 'blocks.*.ffm.*' match no module of 'transformer'", Assert.Single(component.ErrorLines));
    }

    [Fact]
    public void An_output_inside_the_model_is_refused_before_anything_is_copied()
    {
        // the staging copy beside such a target lies inside the model too: it copied itself until the path was too long
        string model = QuantizeModelRoundTripTests.TinyModel();
        var before = Directory.GetFileSystemEntries(model, "*", SearchOption.AllDirectories).Order().ToArray();
        foreach (string target in new[] { Path.Combine(model, "quantized"), Path.Combine(model, "transformer", "q") })
        {
            var run = CliRun.Of(["quantize", "--model", model, "--scheme", "fp8", "--output", target]);
            Assert.Equal(ExitCode.Usage, run.Rc);
            Assert.Equal($"error: --output {target} lies inside --model {model}; quantize writes a new folder outside the checkpoint", Assert.Single(run.ErrorLines));
        }
        Assert.Equal(before, Directory.GetFileSystemEntries(model, "*", SearchOption.AllDirectories).Order().ToArray());
    }

    [Theory]
    [InlineData(new[] { "--quant-algo", "int8" }, "error: --quant-algo: unknown quant_algo 'int8' (known: FP8, FP8_BLOCK_SCALES, NVFP4)")]
    [InlineData(new[] { "--quant-ignore", "proj_out" }, "error: --quant-ignore needs --quant-algo")]
    public void Bad_quantization_flags_are_usage_errors(string[] flags, string expected)
    {
        var run = RunComponent(QuantizeModelRoundTripTests.TinyModel(), Fixtures.TempDir("quant-cache"), flags);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal(expected, Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Quantize_model_takes_weight_schemes_only()
    {
        var run = CliRun.Of(["quantize", "--model", QuantizeModelRoundTripTests.TinyModel(), "--scheme", "fp8_1x128", "--output", Path.Combine(Fixtures.TempDir("q"), "o")]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal("error: --scheme 'fp8_1x128' does not quantize a checkpoint's weights; --model takes fp8, fp8_block, nvfp4 (or quant_algo FP8, FP8_BLOCK_SCALES, NVFP4)", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Ignore_patterns_leave_the_linears_they_match_unquantized()
    {
        string target = Path.Combine(Fixtures.TempDir("quant-target"), "q");
        var run = CliRun.Of(["quantize", "--model", QuantizeModelRoundTripTests.TinyModel(), "--scheme", "fp8", "--output", target,
            "--ignore", "condition_embedder.*,blocks.0.attn2.to_out.0"]);
        Assert.True(run.Rc == ExitCode.Success, run.Err);
        Assert.Contains("transformer: 10 linear(s) quantized (FP8), 0 left unquantized", run.Out);
        using var weights = SafeTensorsFile.Open(Path.Combine(target, "transformer", "diffusion_pytorch_model.safetensors"));
        Assert.Equal(TensorDType.BF16, weights.Info("condition_embedder.time_proj.weight").DType);
        Assert.Equal(TensorDType.BF16, weights.Info("blocks.0.attn2.to_out.0.weight").DType);
        Assert.Equal(TensorDType.F8E4M3, weights.Info("blocks.0.attn2.to_q.weight").DType);
        Assert.False(weights.Contains("blocks.0.attn2.to_out.0.weight_scale"));
        var config = new QuantizationConfig(QuantAlgo.Fp8, ["blocks.*.to_q", "proj_out"]);
        Assert.True(config.IsIgnored("blocks.3.attn1.to_q"));
        Assert.False(config.IsIgnored("blocks.3.attn1.to_qk"));
        Assert.False(config.IsIgnored("proj_out_2"));
    }

    [Fact]
    public void Quantized_and_unquantized_builds_never_share_a_cache_entry()
    {
        string model = QuantizeModelRoundTripTests.TinyModel(), cache = Fixtures.TempDir("quant-cache");
        var plain = RunComponent(model, cache);
        var fp8 = RunComponent(model, cache, "--quant-algo", "FP8");
        var nvfp4 = RunComponent(model, cache, "--quant-algo", "NVFP4");
        Assert.All(new[] { plain, fp8, nvfp4 }, r => Assert.True(r.Rc == ExitCode.Success, r.Err));
        var entries = Directory.GetFiles(cache, "manifest.json", SearchOption.AllDirectories);
        Assert.Equal(3, entries.Length);
        var parts = new EngineKeyParts { GraphHash = "g", WeightFingerprint = "w", Backend = "b", BackendVersion = "1", Device = "d", Precision = "fp32", Profiles = "", Opset = 23, ExporterVersion = "e" };
        Assert.NotEqual(EngineCacheKey.Compute(parts), EngineCacheKey.Compute(parts with { Quantization = "FP8;ignore=" }));
        Assert.NotEqual(EngineCacheKey.Compute(parts with { Quantization = "FP8;ignore=" }), EngineCacheKey.Compute(parts with { Quantization = "NVFP4;ignore=" }));
    }
}
