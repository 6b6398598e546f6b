using VisualGen.Checkpoints;
using VisualGen.Cli;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>Bad requests get one clear line naming the argument, and a non-zero exit; never a stack trace.</summary>
public class CliErrorTests
{
    static (int Rc, string Err) Run(params string[] extra)
    {
        var args = new List<string> { "generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "a fox",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png" };
        args.AddRange(extra);
        var err = new StringWriter();
        int rc = CliApp.Run(args.ToArray(), new StringWriter(), err);
        Assert.DoesNotContain("   at ", err.ToString());
        return (rc, err.ToString());
    }

    [ConformanceTheory]
    [InlineData(new[] { "--height", "33", "--width", "48", "--frames", "9" }, "height must be a positive multiple of 16")]
    [InlineData(new[] { "--height", "32", "--width", "40", "--frames", "9" }, "width must be a positive multiple of 16")]
    [InlineData(new[] { "--height", "32", "--width", "48", "--frames", "8" }, "num_frames must be 4k+1")]
    [InlineData(new[] { "--height", "32", "--width", "48", "--frames", "9", "--steps", "0" }, "num_inference_steps must be at least 1")]
    [InlineData(new[] { "--height", "32", "--width", "48", "--frames", "9", "--steps", "-2" }, "num_inference_steps must be at least 1")]
    [InlineData(new[] { "--height", "32", "--width", "48", "--frames", "9", "--seed", "-1" }, "seed must be 0 or more")]
    [InlineData(new[] { "--steps", "two" }, "--steps must be an integer")]
    [InlineData(new[] { "--bogus", "1" }, "unknown flag --bogus")]
    public void Bad_arguments_are_named(string[] extra, string message)
    {
        var (rc, err) = Run(extra);
        Assert.NotEqual(0, rc);
        Assert.Contains(message, err);
    }

    [ConformanceFact]
    public void Empty_prompt_is_refused()
    {
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "  ", "--height", "32", "--width", "48",
            "--frames", "9", "--engine-cache", ConformancePipelines.CacheDir], new StringWriter(), err);
        Assert.Equal(2, rc);
        Assert.Contains("prompt must not be empty", err.ToString());
    }

    [ConformanceFact]
    public void Wrong_latents_shape_names_the_expected_shape()
    {
        string tmp = Fixtures.TempDir("lat");
        string path = Path.Combine(tmp, "l.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.Float32("latents", [1, 16, 2, 4, 6], new float[16 * 2 * 4 * 6])]);
        var (rc, err) = Run("--height", "32", "--width", "48", "--frames", "9", "--latents", path);
        Assert.Equal(2, rc);
        Assert.Contains("latents must be float32 of shape [1, 16, 3, 4, 6]", err);
    }

    [ConformanceFact]
    public void Save_tensors_naming_the_latents_file_is_refused_and_the_latents_kept()
    {
        // the saved tensors were renamed over the --latents file: the initial latents were lost
        string path = Path.Combine(Fixtures.TempDir("lat"), "l.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.Float32("latents", [1, 16, 3, 4, 6], new float[16 * 3 * 4 * 6])]);
        byte[] before = File.ReadAllBytes(path);
        var (rc, err) = Run("--height", "32", "--width", "48", "--frames", "9", "--steps", "1", "--latents", path, "--save-tensors", path);
        Assert.Equal(2, rc);
        Assert.Contains($"error: --save-tensors {path} is the --latents file; name another file", err);
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [ConformanceTheory]
    [InlineData("latents", float.NaN, "NaN")]
    [InlineData("latents", float.PositiveInfinity, "Infinity")]
    [InlineData("audio_latents", float.NaN, "NaN")]
    public void Latents_that_are_not_finite_are_refused_before_generating(string tensor, float value, string shown)
    {
        // NaN latents ran the whole loop and failed at the output with "the generation diverged", blaming the model
        string path = Path.Combine(Fixtures.TempDir("lat"), "l.safetensors");
        var latents = new float[16 * 3 * 4 * 6];
        var audio = new float[8];
        (tensor == "latents" ? latents : audio)[5] = value;
        // audio_latents (LTX-2's) are read with the latents, so they are refused before the pipeline sees them
        SafeTensorsWriter.Write(path, [TensorData.Float32("latents", [1, 16, 3, 4, 6], latents),
            .. tensor == "audio_latents" ? [TensorData.Float32("audio_latents", [1, 8], audio)] : Array.Empty<TensorData>()]);
        var (rc, err) = Run("--height", "32", "--width", "48", "--frames", "9", "--steps", "1", "--latents", path);
        Assert.Equal(2, rc);
        Assert.Equal($"error: --latents {path}: '{tensor}' holds {shown} at element 5; initial latents must be finite numbers", err.Trim());
    }

    [ConformanceFact]
    public void Latents_file_without_latents_tensor_is_named()
    {
        string tmp = Fixtures.TempDir("lat");
        string path = Path.Combine(tmp, "l.safetensors");
        SafeTensorsWriter.Write(path, [TensorData.Float32("x", [1], [0f])]);
        var (rc, err) = Run("--latents", path);
        Assert.Equal(2, rc);
        Assert.Contains("no tensor named 'latents'", err);
    }

    [ConformanceFact]
    public void Latents_naming_a_folder_is_named_as_one()
    {
        string folder = Fixtures.TempDir("lat-folder");
        var (rc, err) = Run("--latents", folder);
        Assert.Equal(2, rc);
        Assert.Contains($"--latents {folder}: is a folder; name a safetensors file", err);
    }

    [Fact]
    public void Missing_model_folder_is_named()
    {
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", "/nonexistent/model", "--prompt", "x"], new StringWriter(), err);
        Assert.Equal(1, rc);
        Assert.Contains("/nonexistent/model", err.ToString());
    }

    /// <summary>A Wan model_index.json naming no components: the missing one named is the transformer every Wan has (it
    /// named the optional transformer_2).</summary>
    [Fact]
    public void Model_index_without_components_names_the_transformer()
    {
        string tmp = Fixtures.TempDir("no-components");
        File.WriteAllText(Path.Combine(tmp, "model_index.json"), """{"_class_name": "WanPipeline", "_diffusers_version": "0.33.0"}""");
        var err = new StringWriter();
        int rc = CliApp.Run(["info", "--model", tmp], new StringWriter(), err);
        Assert.Equal(1, rc);
        Assert.Contains("no component 'transformer' (components: )", err.ToString());
        Assert.DoesNotContain("transformer_2", err.ToString());
    }

    [ConformanceFact]
    public void Missing_component_is_named()
    {
        string tmp = Fixtures.TempDir("broken");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("wan21_t2v"), tmp);
        Directory.Delete(Path.Combine(tmp, "vae"), recursive: true);
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", tmp, "--prompt", "x", "--height", "32", "--width", "48", "--frames", "9",
            "--engine-cache", ConformancePipelines.CacheDir], new StringWriter(), err);
        Assert.Equal(1, rc);
        Assert.Contains("vae", err.ToString());
    }

    [ConformanceTheory]
    [InlineData("scale_factor_spatial", "0", "scale_factor_spatial 0 must be at least 1")]
    [InlineData("scale_factor_temporal", "-1", "scale_factor_temporal -1 must be at least 1")]
    [InlineData("latents_std", "zero", "latents_std is 0 for channel 3")]
    public void Vae_config_values_the_pipeline_divides_by_are_named(string key, string value, string message)
    {
        // each was an unhandled DivideByZeroException, OverflowException, ArgumentOutOfRangeException or
        // ArgumentException (exit 134, a stack trace) once the request was checked or the latents normalized
        string tmp = Fixtures.TempDir("broken-vae");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("wan21_t2v"), tmp);
        string config = Path.Combine(tmp, "vae", "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        if (value == "zero") json[key]![3] = 0;
        else json[key] = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
        File.WriteAllText(config, json.ToJsonString());
        var run = CliRun.Of(["generate", "--model", tmp, "--prompt", "x", "--height", "32", "--width", "48", "--frames", "9", "--steps", "1",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png"]);
        Assert.Equal(1, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains($"{config}: {message}", error);
        Assert.False(run.Generated);
    }

    [ConformanceTheory]
    [InlineData("5", "transformer")]
    [InlineData("0.875", "transformer")]
    [InlineData("0", "transformer")]
    [InlineData("0.875", "transformer_2")]
    public void Boundary_ratio_without_two_experts_is_named(string ratio, string present)
    {
        // diffusers' WanPipeline fails at the first step on the absent expert's side; we ran the one transformer
        // throughout (exit 0), taking --guidance-scale-2 for the steps below the boundary
        string tmp = Fixtures.TempDir("boundary-one-expert");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("wan21_t2v"), tmp);
        string indexPath = Path.Combine(tmp, "model_index.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(indexPath))!;
        json["boundary_ratio"] = double.Parse(ratio, System.Globalization.CultureInfo.InvariantCulture);
        if (present == "transformer_2")
        {
            // the low-noise expert alone
            Directory.Move(Path.Combine(tmp, "transformer"), Path.Combine(tmp, "transformer_2"));
            json["transformer_2"] = json["transformer"]!.DeepClone();
            json["transformer"] = new System.Text.Json.Nodes.JsonArray(null, null);
        }
        File.WriteAllText(indexPath, json.ToJsonString());
        var run = CliRun.Of(["generate", "--model", tmp, "--prompt", "x", "--height", "32", "--width", "48", "--frames", "5", "--steps", "1",
            "--guidance-scale-2", "1", "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png"]);
        Assert.Equal(ExitCode.Failure, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains($"{indexPath}: boundary_ratio {ratio} splits the denoising between two experts", error);
        Assert.Contains($"component '{(present == "transformer" ? "transformer_2" : "transformer")}' is absent", error);
        Assert.False(run.Generated);
    }
}

public class CliImageArgumentTests
{
    [ConformanceFact]
    public void Image_to_video_without_image_is_refused()
    {
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("wan21_i2v"), "--prompt", "x", "--height", "32", "--width", "32",
            "--frames", "9", "--engine-cache", ConformancePipelines.CacheDir], new StringWriter(), err);
        Assert.Equal(2, rc);
        Assert.Contains("image-to-video: an image is required", err.ToString());
    }

    [ConformanceFact]
    public void Text_to_video_with_image_is_refused()
    {
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("wan21_t2v"), "--prompt", "x", "--height", "32", "--width", "48",
            "--frames", "9", "--image", Path.Combine(Fixtures.Family("wan21_i2v"), "image.png"), "--engine-cache", ConformancePipelines.CacheDir],
            new StringWriter(), err);
        Assert.Equal(2, rc);
        Assert.Contains("takes no image", err.ToString());
    }

    [ConformanceFact]
    public void Unreadable_image_is_refused_by_name()
    {
        string tmp = Fixtures.TempDir("img");
        string path = Path.Combine(tmp, "photo.jpg");
        File.WriteAllBytes(path, [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]);
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("wan21_i2v"), "--prompt", "x", "--image", path], new StringWriter(), err);
        Assert.NotEqual(0, rc);
        Assert.Contains("photo.jpg", err.ToString());
        Assert.DoesNotContain("   at ", err.ToString());
    }
}

public class CliOutputFormatTests
{
    [ConformanceFact]
    public void Image_model_writes_png_by_default_and_refuses_mp4_before_generating()
    {
        string dir = Fixtures.TempDir("imgout");
        string[] common = ["generate", "--model", Fixtures.Checkpoint("flux1"), "--prompt", "a lighthouse", "--height", "64", "--width", "48",
            "--steps", "2", "--engine-cache", ConformancePipelines.CacheDir];
        var err = new StringWriter();
        int rc = CliApp.Run([.. common, "--output", Path.Combine(dir, "lighthouse.png")], new StringWriter(), err);
        Assert.True(rc == 0, err.ToString());
        Assert.True(File.Exists(Path.Combine(dir, "lighthouse.png")));

        err = new StringWriter();
        rc = CliApp.Run([.. common, "--output", Path.Combine(dir, "lighthouse.mp4")], new StringWriter(), err);
        Assert.Equal(2, rc);
        Assert.Contains("FluxPipeline makes images, which are written as PNG", err.ToString());
        Assert.DoesNotContain("denoise", err.ToString());
    }
}
