using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Exporter.Commands;
using VisualGen.Pipelines;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Demo;

/// <summary><see cref="DemoModel.WriteCustom"/>: random Wan checkpoints with awkward sizes (widths and head sizes that are
/// not multiples of 8 or 16), and the Wan pipeline on one of them on ONNX Runtime CPU with odd frame and token counts.</summary>
public sealed class DemoCustomSizesTests : IDisposable
{
    readonly string _root = Fixtures.TempDir("demo-custom");

    /// <summary>3 heads × 20, ffn 84; UMT5 36 wide with 3 heads × 12 and d_ff 52; VAE base_dim 6.</summary>
    static readonly DemoModelSizes Awkward = new()
    {
        Heads = 3, AttentionHeadDim = 20, FfnDim = 84, NumLayers = 1,
        TextDim = 36, TextHeads = 3, TextHeadDim = 12, TextFfnDim = 52, TextLayers = 1, VaeBaseDim = 6,
    };

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void The_configs_and_weights_have_the_requested_sizes()
    {
        string dir = DemoModel.WriteCustom(Path.Combine(_root, "m"), Awkward);
        var index = ModelIndex.Load(dir);
        Assert.Equal("WanPipeline", index.ClassName);
        Assert.False(File.Exists(Path.Combine(dir, DemoModel.MarkerFileName)));

        var t = index.LoadConfig("transformer");
        Assert.Equal((3, 20, 84, 1, 36), (t.GetInt("num_attention_heads"), t.GetInt("attention_head_dim"), t.GetInt("ffn_dim"), t.GetInt("num_layers"), t.GetInt("text_dim")));
        var te = index.LoadConfig("text_encoder");
        Assert.Equal((36, 3, 12, 52, 1), (te.GetInt("d_model"), te.GetInt("num_heads"), te.GetInt("d_kv"), te.GetInt("d_ff"), te.GetInt("num_layers")));
        Assert.Equal(6, index.LoadConfig("vae").GetInt("base_dim"));

        using (var w = index.OpenWeights("transformer"))
        {
            Assert.Equal([60L, 60], w.Info("blocks.0.attn1.to_q.weight").Shape);
            Assert.Equal([84L, 60], w.Info("blocks.0.ffn.net.0.proj.weight").Shape);
            Assert.Equal([60L, 36], w.Info("condition_embedder.text_embedder.linear_1.weight").Shape);
            Assert.DoesNotContain("blocks.1.attn1.to_q.weight", w.Names);
        }
        using (var w = index.OpenWeights("text_encoder"))
        {
            Assert.Equal([36L, 36], w.Info("encoder.block.0.layer.0.SelfAttention.q.weight").Shape);
            Assert.Equal([52L, 36], w.Info("encoder.block.0.layer.1.DenseReluDense.wi_0.weight").Shape);
        }
        using (var w = index.OpenWeights("vae"))
        {
            Assert.Equal([6L, 3, 3, 3, 3], w.Info("encoder.conv_in.weight").Shape);
            Assert.Equal([12L, 16, 3, 3, 3], w.Info("decoder.conv_in.weight").Shape);
        }
    }

    [Fact]
    public void The_default_sizes_write_the_demo_models_files()
    {
        string demo = DemoModel.EnsureCreated(Path.Combine(_root, "demo"));
        string custom = DemoModel.WriteCustom(Path.Combine(_root, "custom"), DemoModelSizes.Default);
        var files = Directory.GetFiles(custom, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(custom, f)).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(10, files.Length);
        foreach (var f in files)
            Assert.True(File.ReadAllBytes(Path.Combine(demo, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(custom, f))), $"{f} differs");
    }

    [Fact]
    public void Sizes_the_architectures_cannot_take_and_a_non_empty_folder_are_refused()
    {
        Assert.Contains("even", Assert.Throws<ArgumentException>(() => DemoModel.WriteCustom(Path.Combine(_root, "odd"), Awkward with { AttentionHeadDim = 15 })).Message);
        Assert.Contains("at least 1", Assert.Throws<ArgumentException>(() => DemoModel.WriteCustom(Path.Combine(_root, "zero"), Awkward with { VaeBaseDim = 0 })).Message);
        Assert.False(Directory.Exists(Path.Combine(_root, "odd")));

        string taken = Path.Combine(_root, "taken");
        Directory.CreateDirectory(taken);
        File.WriteAllText(Path.Combine(taken, "notes.txt"), "keep me");
        Assert.Throws<CheckpointException>(() => DemoModel.WriteCustom(taken, Awkward));
        Assert.Equal(["notes.txt"], Directory.GetFiles(taken).Select(Path.GetFileName));
    }

    [Fact]
    public async Task The_wan_pipeline_runs_end_to_end_on_ort_cpu_with_odd_frame_and_token_counts()
    {
        string dir = DemoModel.WriteCustom(Path.Combine(_root, "m"), Awkward);
        using var provider = Runtime.CreateEngineProvider(Path.Combine(_root, "engines"), "ort-cpu", null);
        using var pipeline = ModelFamilies.CreateRegistry().Create(dir, provider);
        // 9 frames at 48×80: 3 latent frames × 3 × 5 patches = 45 video tokens; 37 text tokens
        var result = await pipeline.GenerateAsync(new GenerationRequest
        {
            Prompt = "A red fox runs across a snowy field.", NegativePrompt = "blurry",
            Height = 48, Width = 80, NumFrames = 9, NumInferenceSteps = 2, GuidanceScale = 5.0, Seed = 7, MaxSequenceLength = 37,
        });
        Assert.Equal([1L, 16, 3, 6, 10], result.Latents.Shape);
        Assert.Equal([1L, 9, 48, 80, 3], result.Output.Shape);
        Assert.All(result.Latents.Floats, x => Assert.True(float.IsFinite(x)));
        Assert.All(result.Output.Floats, x => Assert.InRange(x, 0f, 1f));
        Assert.True(result.Output.Floats.Distinct().Count() > 100, "the decoded video is not constant");
    }
}
