using VisualGen.Cli;
using VisualGen.Media;
using VisualGen.Tests.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Cli;

/// <summary>FLUX.1 bad requests through the CLI: one clear line naming the argument, a non-zero exit, no stack trace.</summary>
public class FluxCliErrorTests
{
    static (int Rc, string Err) Run(params string[] extra)
    {
        var args = new List<string> { "generate", "--model", Fixtures.Checkpoint("flux1"), "--prompt", "a lighthouse", "--steps", "1",
            "--engine-cache", ConformancePipelines.CacheDir,
            "--output", Path.Combine(Fixtures.TempDir("err"), "o"), "--format", "png" };
        args.AddRange(extra);
        var err = new StringWriter();
        int rc = CliApp.Run(args.ToArray(), new StringWriter(), err);
        Assert.DoesNotContain("   at ", err.ToString());
        return (rc, err.ToString());
    }

    [ConformanceTheory]
    [InlineData(new[] { "--height", "72", "--width", "48" }, "height must be a positive multiple of 16")]
    [InlineData(new[] { "--height", "64", "--width", "40" }, "width must be a positive multiple of 16")]
    [InlineData(new[] { "--height", "64", "--width", "48", "--max-sequence-length", "600" }, "max_sequence_length must be between 1 and 512")]
    public void Bad_sizes_are_named(string[] extra, string message)
    {
        var (rc, err) = Run(extra);
        Assert.NotEqual(0, rc);
        Assert.Contains(message, err);
    }

    [ConformanceFact]
    public void Strength_out_of_range_or_without_an_image_is_named()
    {
        string png = Path.Combine(Fixtures.TempDir("img"), "in.png");
        PngWriter.Write(png, RgbImage.FromFloat(new float[16 * 16 * 3], 16, 16));
        var (rc, err) = Run("--height", "64", "--width", "48", "--image", png, "--strength", "1.5");
        Assert.Equal(2, rc);
        Assert.Contains("strength must be in (0, 1], got 1.5", err);
        (rc, err) = Run("--height", "64", "--width", "48", "--strength", "0.5");
        Assert.Equal(2, rc);
        Assert.Contains("strength applies to image-to-image", err);
        (rc, err) = Run("--height", "64", "--width", "48", "--image", png, "--strength", "0.5");
        Assert.True(rc == 0, err);  // FLUX.1 image-to-image
    }

    [ConformanceFact]
    public void Two_images_for_a_one_image_pipeline_are_refused_and_flux2_takes_them()
    {
        string dir = Fixtures.TempDir("img");
        string a = Path.Combine(dir, "a.png"), b = Path.Combine(dir, "b.png");
        PngWriter.Write(a, RgbImage.FromFloat(Enumerable.Range(0, 96 * 80 * 3).Select(i => i % 7 / 7f).ToArray(), 80, 96));
        PngWriter.Write(b, RgbImage.FromFloat(Enumerable.Range(0, 64 * 64 * 3).Select(i => i % 5 / 5f).ToArray(), 64, 64));
        var err = new StringWriter();
        int rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("wan21_i2v"), "--prompt", "x", "--image", a, "--image", b,
            "--engine-cache", ConformancePipelines.CacheDir], new StringWriter(), err);
        Assert.Equal(2, rc);
        Assert.Contains("WanImageToVideoPipeline takes one --image, got 2", err.ToString());

        string output = Path.Combine(dir, "edit.png");
        err = new StringWriter();
        rc = CliApp.Run(["generate", "--model", Fixtures.Checkpoint("flux2"), "--prompt", "x", "--image", a, "--image", b, "--steps", "1",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", output], new StringWriter(), err);
        Assert.True(rc == 0, err.ToString());
        var png = PngReader.Read(output);
        Assert.Equal((96, 80), (png.Width, png.Height));  // the first reference's size (80 high, 96 wide)
    }

    /// <summary>generate on a copy of the flux1 fixture whose tokenizer_config.json sets model_max_length; the run, the
    /// copy's folder and its tokenizer_config.json.</summary>
    static (CliRun Run, string Model, string Config) GenerateWithClipModelMaxLength(int length)
    {
        string model = Fixtures.TempDir("clip-len");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("flux1"), model);
        string config = Path.Combine(model, "tokenizer", "tokenizer_config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["model_max_length"] = length;
        File.WriteAllText(config, json.ToJsonString());
        return (CliRun.Of(["generate", "--model", model, "--prompt", "a lighthouse", "--steps", "1", "--height", "64", "--width", "48",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o.png")]), model, config);
    }

    [ConformanceTheory]
    [InlineData(0)]
    [InlineData(1)]
    public void Clip_model_max_length_too_short_for_its_special_tokens_is_named(int length)
    {
        // it was an unhandled ArgumentOutOfRangeException (exit 134) when the prompt was tokenized
        var (run, model, config) = GenerateWithClipModelMaxLength(length);
        Assert.Equal(1, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains("tokenizer_config.json", error);
        Assert.Contains($"'model_max_length' {length} cannot hold CLIP's start and end tokens", error);
        Assert.False(run.Generated);
    }

    [ConformanceTheory]
    [InlineData(1000)]
    [InlineData(78)]
    public void Clip_model_max_length_past_the_encoder_s_positions_is_named(int length)
    {
        // transformers' CLIPTextEmbeddings refuses a sequence longer than max_position_embeddings; it was an ONNX
        // Runtime broadcast error at encode ("77 by 1000") that named no config
        var (run, model, config) = GenerateWithClipModelMaxLength(length);
        Assert.Equal(1, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains($"{config}: 'model_max_length' {length} is more than the CLIP text encoder's max_position_embeddings 77 " +
            $"({Path.Combine(model, "text_encoder", "config.json")})", error);
        Assert.False(run.Generated);

        // a shorter length than the encoder's positions runs, as in transformers (the positions are sliced)
        var shorter = GenerateWithClipModelMaxLength(50).Run;
        Assert.True(shorter.Rc == 0, shorter.Err);
    }

    [ConformanceTheory]
    [InlineData("vocab")]
    [InlineData("merges")]
    [InlineData("merge")]
    [InlineData("added")]
    public void Flux2_tokenizer_json_of_the_wrong_shape_is_named(string broken)
    {
        // each was an unhandled exception (InvalidOperationException, IndexOutOfRangeException, KeyNotFoundException)
        // when the pipeline loaded: exit 134 and a stack trace
        string model = Fixtures.TempDir("flux2-tok");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("flux2"), model);
        string path = Path.Combine(model, "tokenizer", "tokenizer.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(path))!;
        switch (broken)
        {
            case "vocab": json["model"]!["vocab"] = new System.Text.Json.Nodes.JsonArray(1); break;
            case "merges": json["model"]!["merges"] = new System.Text.Json.Nodes.JsonArray(1, 2); break;
            case "merge": json["model"]!["merges"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonArray("a")); break;
            case "added": json["added_tokens"] = new System.Text.Json.Nodes.JsonArray(new System.Text.Json.Nodes.JsonObject { ["id"] = 1 }); break;
        }
        File.WriteAllText(path, json.ToJsonString());
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "snow", "--steps", "1", "--height", "64", "--width", "48",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o.png")]);
        Assert.Equal(1, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains($"{path}: cannot be read", error);
        Assert.False(run.Generated);
    }

    [ConformanceTheory]
    [InlineData(0)]
    [InlineData(-32)]
    public void Vae_norm_num_groups_below_one_is_named(int groups)
    {
        // 0 was an unhandled DivideByZeroException while the config was checked (exit 134, a stack trace)
        string model = Fixtures.TempDir("flux-vae");
        Fixtures.CopyDirectory(Fixtures.Checkpoint("flux1"), model);
        string config = Path.Combine(model, "vae", "config.json");
        var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(config))!;
        json["norm_num_groups"] = groups;
        File.WriteAllText(config, json.ToJsonString());
        var run = CliRun.Of(["generate", "--model", model, "--prompt", "a lighthouse", "--steps", "1", "--height", "64", "--width", "48",
            "--engine-cache", ConformancePipelines.CacheDir, "--output", Path.Combine(Fixtures.TempDir("err"), "o.png")]);
        Assert.Equal(1, run.Rc);
        var error = Assert.Single(run.ErrorLines);
        Assert.Contains($"{config}: norm_num_groups {groups} must be at least 1", error);
        Assert.False(run.Generated);
    }
}
