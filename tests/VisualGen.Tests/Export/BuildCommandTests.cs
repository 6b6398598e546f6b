using VisualGen.Cli;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Export;

public class BuildCommandTests
{
    static (int Rc, string Out, string Err) Build(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int rc = CliApp.Run(["build", .. args], o, e);
        return (rc, o.ToString(), e.ToString());
    }

    [ConformanceFact]
    public void Second_build_is_a_hit_for_every_component_and_exports_nothing()
    {
        string cache = Fixtures.TempDir("build-cache");
        string model = Fixtures.Checkpoint("wan21_t2v");
        var first = Build("--model", model, "--cache", cache);
        Assert.True(first.Rc == 0, first.Err);
        var lines = first.Out.Split('\n').Where(l => l.Contains(" nodes ")).ToList();
        Assert.Equal(["text_encoder", "transformer", "vae.decoder_first", "vae.decoder_next", "vae.encoder_first", "vae.encoder_next"],
            lines.Select(l => l.Split(' ')[0]).Order().ToList());
        Assert.All(lines, l => Assert.EndsWith("built", l.TrimEnd()));
        Assert.Contains("exporting transformer", first.Err);

        var second = Build("--model", model, "--cache", cache);
        Assert.True(second.Rc == 0, second.Err);
        var again = second.Out.Split('\n').Where(l => l.Contains(" nodes ")).ToList();
        Assert.Equal(6, again.Count);
        Assert.All(again, l => Assert.EndsWith("hit", l.TrimEnd()));
        Assert.DoesNotContain("exporting", second.Err);
        Assert.DoesNotContain("building", second.Err);
        Assert.Empty(Directory.GetDirectories(cache, ".tmp-*"));
    }

    [ConformanceFact]
    public void Selected_components_only_and_unknown_component_is_named()
    {
        string cache = Fixtures.TempDir("build-cache");
        var one = Build("--model", Fixtures.Checkpoint("wan21_t2v"), "--cache", cache, "--components", "transformer");
        Assert.True(one.Rc == 0, one.Err);
        Assert.Single(Directory.GetDirectories(cache), d => !Path.GetFileName(d).StartsWith('.'));
        // named twice: built once, counted once
        var twice = Build("--model", Fixtures.Checkpoint("wan21_t2v"), "--cache", cache, "--components", "transformer,transformer");
        Assert.True(twice.Rc == 0, twice.Err);
        Assert.Single(twice.Out.Split('\n'), l => l.Contains(" nodes "));
        Assert.Contains("1 component(s) in", twice.Out);
        var bad = Build("--model", Fixtures.Checkpoint("wan21_t2v"), "--cache", cache, "--components", "unet");
        Assert.Equal(2, bad.Rc);
        Assert.Contains("'unet' is not a component", bad.Err);
        // a list of separators names nothing: it built nothing and exited 0
        var none = Build("--model", Fixtures.Checkpoint("wan21_t2v"), "--cache", cache, "--components", " , ");
        Assert.Equal(2, none.Rc);
        Assert.Contains("--components names no component (exportable: ", none.Err);
    }

    [ConformanceFact]
    public void Corrupted_entry_is_detected_and_rebuilt()
    {
        string cache = Fixtures.TempDir("build-cache");
        string model = Fixtures.Checkpoint("wan21_t2v");
        Assert.Equal(0, Build("--model", model, "--cache", cache, "--components", "transformer").Rc);
        string entry = Directory.GetDirectories(cache, "transformer-*").Single();
        string onnx = Path.Combine(entry, "model.onnx");
        var bytes = File.ReadAllBytes(onnx);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(onnx, bytes);
        var rebuilt = Build("--model", model, "--cache", cache, "--components", "transformer");
        Assert.True(rebuilt.Rc == 0, rebuilt.Err);
        Assert.Contains("corrupt entry", rebuilt.Err);
        Assert.EndsWith("built", rebuilt.Out.Split('\n').First(l => l.Contains(" nodes ")).TrimEnd());
    }

    /// <summary>After a stamped load, a change that keeps model.onnx's size and write time is not re-hashed by a plain
    /// build (the documented limit of stamps); <c>--verify full</c> hashes every file and rebuilds the entry.</summary>
    [ConformanceFact]
    public void Verify_full_finds_a_change_that_kept_size_and_write_time()
    {
        string cache = Fixtures.TempDir("build-cache");
        string model = Fixtures.Checkpoint("wan21_t2v");
        Assert.Equal(0, Build("--model", model, "--cache", cache, "--components", "transformer").Rc);
        string entry = Directory.GetDirectories(cache, "transformer-*").Single();
        foreach (var f in Directory.GetFiles(entry)) File.SetLastWriteTimeUtc(f, DateTime.UtcNow.AddHours(-1));
        var stamped = Build("--model", model, "--cache", cache, "--components", "transformer");
        Assert.True(stamped.Rc == 0, stamped.Err);
        Assert.True(File.Exists(Path.Combine(entry, "verified.json")));

        string onnx = Path.Combine(entry, "model.onnx");
        var time = File.GetLastWriteTimeUtc(onnx);
        var bytes = File.ReadAllBytes(onnx);
        bytes[bytes.Length / 2] ^= 0xFF;
        File.WriteAllBytes(onnx, bytes);
        File.SetLastWriteTimeUtc(onnx, time);
        var plain = Build("--model", model, "--cache", cache, "--components", "transformer");
        Assert.EndsWith("hit", plain.Out.Split('\n').First(l => l.Contains(" nodes ")).TrimEnd());

        var full = Build("--model", model, "--cache", cache, "--components", "transformer", "--verify", "full");
        Assert.True(full.Rc == 0, full.Err);
        Assert.Contains($"corrupt entry {entry}: file 'model.onnx' has SHA-256", full.Err);
        Assert.EndsWith("built", full.Out.Split('\n').First(l => l.Contains(" nodes ")).TrimEnd());
    }

    [Fact]
    public void Unknown_verify_mode_is_named()
    {
        var r = Build("--model", "/no/such/model", "--cache", Fixtures.TempDir("c"), "--verify", "sometimes");
        Assert.Equal(2, r.Rc);
        Assert.Contains("--verify must be 'full' or 'changed', got 'sometimes'", r.Err);
    }

    /// <summary>Only native-cuda entries reference the checkpoint's weights; ONNX Runtime's always hold a copy, so
    /// --embed-weights there would change nothing. It is refused (exit 2) naming the switch and the engine, before the
    /// engine cache is made or the model read.</summary>
    [Theory]
    [InlineData(null, "ort-cpu")]
    [InlineData("ort-cpu", "ort-cpu")]
    [InlineData("ort-cuda", "ort-cuda")]
    public void Embed_weights_on_an_engine_whose_entries_hold_the_weights_is_a_usage_error(string? engine, string named)
    {
        string cache = Path.Combine(Fixtures.TempDir("c"), "engines");
        string[] engineFlag = engine is null ? [] : ["--engine", engine];
        var r = Build(["--model", "/no/such/model", "--cache", cache, .. engineFlag, "--embed-weights"]);
        Assert.Equal(2, r.Rc);
        Assert.Contains("error: --embed-weights", r.Err);
        Assert.Contains($"the engine is {named}", r.Err);
        Assert.Contains("add --engine native-cuda, or remove --embed-weights", r.Err);
        Assert.DoesNotContain("/no/such/model", r.Err);
        Assert.False(Directory.Exists(cache));
    }

    [Fact]
    public void Embed_weights_is_checked_against_the_config_files_engine()
    {
        string dir = Fixtures.TempDir("c");
        string config = Path.Combine(dir, "run.yaml");
        File.WriteAllText(config, "engine: ort-cuda\n");
        var refused = Build("--model", "/no/such/model", "--cache", Path.Combine(dir, "engines"), "--config", config, "--embed-weights");
        Assert.Equal(2, refused.Rc);
        Assert.Contains("the engine is ort-cuda", refused.Err);

        // native-cuda takes it: this run gets as far as the missing model (exit 1)
        File.WriteAllText(config, "engine: native-cuda\n");
        var taken = Build("--model", "/no/such/model", "--cache", Path.Combine(dir, "engines"), "--config", config, "--embed-weights");
        Assert.Equal(1, taken.Rc);
        Assert.Contains("/no/such/model", taken.Err);
        Assert.DoesNotContain("--embed-weights", taken.Err);
    }

    [Fact]
    public void Missing_model_is_one_line_error()
    {
        var r = Build("--model", "/no/such/model", "--cache", Fixtures.TempDir("c"));
        Assert.Equal(1, r.Rc);
        Assert.Contains("/no/such/model", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
    }
}
