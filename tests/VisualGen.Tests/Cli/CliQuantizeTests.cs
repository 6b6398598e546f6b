using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Quantization;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary><c>quantize</c>: writes every tensor's parts under the fixture names, atomically; an unknown scheme is a
/// usage error listing the schemes; a tensor the scheme cannot take is one error line naming it.</summary>
public class CliQuantizeTests
{
    static string Input(params TensorData[] tensors)
    {
        string path = Path.Combine(Fixtures.TempDir("quant"), "in.safetensors");
        SafeTensorsWriter.Write(path, tensors);
        return path;
    }

    static TensorData Weight(string name, int rows, int columns) =>
        TensorData.Float32(name, [rows, columns], Enumerable.Range(0, rows * columns).Select(i => (i % 37 - 18) / 8f).ToArray());

    [Theory]
    [InlineData("nvfp4")]
    [InlineData("NVFP4")] // ModelOpt's quant_algo name, as --model takes it
    public void Writes_every_part_of_every_tensor_as_the_library_makes_them(string schemeName)
    {
        string input = Input(Weight("a.weight", 4, 32), Weight("b.weight", 2, 16));
        string output = Path.Combine(Path.GetDirectoryName(input)!, "out.safetensors");
        var run = CliRun.Of(["quantize", "--tensors", input, "--scheme", schemeName, "--output", output]);
        Assert.Equal(ExitCode.Success, run.Rc);
        Assert.Contains("wrote 8 tensors (nvfp4)", run.Out);
        Assert.Equal(["in.safetensors", "out.safetensors"], Directory.GetFiles(Path.GetDirectoryName(input)!).Select(Path.GetFileName).Order());

        using var written = SafeTensorsFile.Open(output);
        using var source = SafeTensorsFile.Open(input);
        foreach (string name in new[] { "a.weight", "b.weight" })
        foreach (var expected in new Nvfp4Scheme().Quantize(SourceTensor.Read(source, name)).Tensors)
        {
            Assert.Equal(expected.Shape, written.Info(expected.Name).Shape);
            Assert.Equal(expected.Bytes.ToArray(), written.GetBytes(expected.Name).ToArray());
        }
        Assert.Equal(8, written.Names.Count());
    }

    [Fact]
    public void Unknown_scheme_is_a_usage_error_listing_the_schemes()
    {
        var run = CliRun.Of(["quantize", "--tensors", Input(Weight("w", 2, 16)), "--scheme", "int4", "--output", "o.safetensors"]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Equal("error: unknown --scheme 'int4' (schemes: fp8, fp8_block, nvfp4, fp8_1x128; or quant_algo FP8, FP8_BLOCK_SCALES, NVFP4)", Assert.Single(run.ErrorLines));
    }

    [Theory]
    [InlineData("--tensors")]
    [InlineData("--scheme")]
    [InlineData("--output")]
    public void Each_flag_is_required(string missing)
    {
        string[] all = ["--tensors", "in.safetensors", "--scheme", "fp8", "--output", "o.safetensors"];
        int at = Array.IndexOf(all, missing);
        var run = CliRun.Of(["quantize", .. all[..at], .. all[(at + 2)..]]);
        Assert.Equal(ExitCode.Usage, run.Rc);
        Assert.Contains($"{missing} is required", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Tensor_of_the_wrong_rank_is_one_line_naming_it_and_nothing_is_written()
    {
        string input = Input(Weight("proj.weight", 2, 16), TensorData.Float32("proj.bias", [16], new float[16]));
        string output = Path.Combine(Path.GetDirectoryName(input)!, "out.safetensors");
        var run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8_block", "--output", output]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        string error = Assert.Single(run.ErrorLines);
        Assert.Contains("'proj.bias'", error);
        Assert.Contains("fp8_block quantizes 2-D tensors", error);
        Assert.False(File.Exists(output));
        Assert.Equal(["in.safetensors"], Directory.GetFiles(Path.GetDirectoryName(input)!).Select(f => Path.GetFileName(f)!).ToArray());  // no data file left
    }

    [Fact]
    public void An_output_that_is_a_folder_or_cannot_be_written_is_refused_before_quantizing()
    {
        string input = Input(Weight("proj.weight", 16, 16));
        string folder = Fixtures.TempDir("quant-out");
        var run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8", "--output", folder]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: --output {folder}: is a folder; name the safetensors file to write", Assert.Single(run.ErrorLines));
        run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8", "--output", "/proc/visualgen-test/out.safetensors"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.StartsWith("error: --output /proc/visualgen-test/out.safetensors: cannot write: cannot create files in /proc", Assert.Single(run.ErrorLines));
        // '-' (stdout) was a file named '-' in the working folder
        run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8", "--output", "-"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal("error: --output -: writing to stdout is not supported; name the safetensors file to write", Assert.Single(run.ErrorLines));
        Assert.False(File.Exists("-"));
    }

    [Fact]
    public void An_output_that_names_the_input_is_refused_and_the_input_kept()
    {
        // the output is renamed over the file it names: the source weights were replaced by their quantized parts
        string input = Input(Weight("proj.weight", 16, 16));
        byte[] before = File.ReadAllBytes(input);
        string link = Path.Combine(Path.GetDirectoryName(input)!, "link.safetensors");
        File.CreateSymbolicLink(link, input);
        foreach (var (source, target) in new[] { (input, input), (link, input) })
        {
            var run = CliRun.Of(["quantize", "--tensors", source, "--scheme", "fp8", "--output", target]);
            Assert.Equal(ExitCode.Usage, run.Rc);
            Assert.Equal($"error: --output {target} is the --tensors file; name another file (the output replaces the file it names)", Assert.Single(run.ErrorLines));
        }
        Assert.Equal(before, File.ReadAllBytes(input));
    }

    /// <summary>An output name the file system takes is written however long (its staging folder, OUT.tmp-PID, was 12
    /// bytes longer and failed with .NET's "path too long"); a longer one is refused before any work.</summary>
    [Fact]
    public void Quantize_model_writes_an_output_of_a_long_name_and_refuses_one_too_long()
    {
        string model = VisualGen.Tests.Quantization.QuantizeModelRoundTripTests.TinyModel();
        string parent = Fixtures.TempDir("quant-long");
        string longest = Path.Combine(parent, new string('q', 250));
        var run = CliRun.Of(["quantize", "--model", model, "--scheme", "fp8", "--output", longest]);
        Assert.Equal(ExitCode.Success, run.Rc);
        Assert.True(File.Exists(Path.Combine(longest, "model_index.json")));
        Assert.Equal([longest], Directory.EnumerateFileSystemEntries(parent));
        string tooLong = Path.Combine(parent, new string('r', 256));
        var refused = CliRun.Of(["quantize", "--model", model, "--scheme", "fp8", "--output", tooLong]);
        Assert.NotEqual(ExitCode.Success, refused.Rc);
        Assert.Contains("more than the file system takes", Assert.Single(refused.ErrorLines));
        Assert.Equal([longest], Directory.EnumerateFileSystemEntries(parent));
    }

    [Fact]
    public void Cancelling_quantize_model_in_the_middle_leaves_nothing_behind()
    {
        // Ctrl+C killed the process and left the staging copy of the checkpoint (OUT.tmp-PID) beside the output
        string model = VisualGen.Tests.Quantization.QuantizeModelRoundTripTests.TinyModel();
        string parent = Fixtures.TempDir("quant-cancel");
        using var cancel = new CancellationTokenSource();
        var log = new CancellingLog(cancel, "linears quantized");
        int rc = VisualGen.Exporter.Commands.CommandErrors.Run(() => QuantizeCommand.Run(
            ["--model", model, "--scheme", "nvfp4", "--output", Path.Combine(parent, "q")], new StringWriter(), log,
            QuantizationSchemeRegistry.CreateDefault(), cancel.Token), log);
        Assert.Equal(ExitCode.Cancelled, rc);
        Assert.Contains("linears quantized", log.ToString());
        Assert.EndsWith("cancelled" + Environment.NewLine, log.ToString());
        Assert.Empty(Directory.EnumerateFileSystemEntries(parent));
    }

    [Fact]
    public void Cancelling_quantize_tensors_leaves_no_output_or_data_file()
    {
        string input = Input(Weight("a.weight", 4, 32), Weight("b.weight", 2, 16));
        string output = Path.Combine(Path.GetDirectoryName(input)!, "out.safetensors");
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var log = new StringWriter();
        int rc = VisualGen.Exporter.Commands.CommandErrors.Run(() => QuantizeCommand.Run(
            ["--tensors", input, "--scheme", "fp8", "--output", output], new StringWriter(), log,
            QuantizationSchemeRegistry.CreateDefault(), cancel.Token), log);
        Assert.Equal(ExitCode.Cancelled, rc);
        Assert.Equal(["in.safetensors"], Directory.GetFiles(Path.GetDirectoryName(input)!).Select(f => Path.GetFileName(f)!).ToArray());
    }

    [Fact]
    public void Tensor_of_a_non_float_dtype_is_one_line_naming_it()
    {
        string input = Input(TensorData.Int64("token_ids", [2, 16], new long[32]));
        var run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8", "--output", input + ".out"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal("error: tensor 'token_ids' is I64; only F32, BF16 and F16 tensors can be quantized", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Non_finite_values_are_one_line_naming_the_tensor()
    {
        string input = Input(TensorData.Float32("w", [1, 16], [.. new float[15], float.NaN]));
        var run = CliRun.Of(["quantize", "--tensors", input, "--scheme", "fp8", "--output", input + ".out"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Contains("tensor 'w' holds NaN at element 15", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void Missing_input_file_is_a_runtime_failure()
    {
        var run = CliRun.Of(["quantize", "--tensors", "/nonexistent/in.safetensors", "--scheme", "fp8", "--output", "o.safetensors"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Contains("/nonexistent/in.safetensors: file not found", Assert.Single(run.ErrorLines));
    }

    [Fact]
    public void An_input_that_is_a_folder_is_named_a_folder()
    {
        // a folder was reported as "file not found"
        string folder = Fixtures.TempDir("quant-in");
        var run = CliRun.Of(["quantize", "--tensors", folder, "--scheme", "fp8", "--output", Path.Combine(Fixtures.TempDir("quant-out"), "o.safetensors")]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        Assert.Equal($"error: --tensors {folder}: is a folder; name a safetensors file", Assert.Single(run.ErrorLines));
    }
}
