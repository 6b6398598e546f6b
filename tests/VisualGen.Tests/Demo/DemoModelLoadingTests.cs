using VisualGen.Checkpoints;
using VisualGen.Demo;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Schedulers;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Demo;

public class DemoModelLoadingTests(DemoModelFixture demo) : IClassFixture<DemoModelFixture>
{
    [Fact]
    public void Model_index_names_a_wan_text_to_video_pipeline()
    {
        var index = ModelIndex.Load(demo.Directory);
        Assert.Equal("WanPipeline", index.ClassName);
        Assert.Equal(("diffusers", "WanTransformer3DModel"), (index.Components["transformer"].Library, index.Components["transformer"].ClassName));
        Assert.Equal(("diffusers", "AutoencoderKLWan"), (index.Components["vae"].Library, index.Components["vae"].ClassName));
        Assert.Equal(("transformers", "UMT5EncoderModel"), (index.Components["text_encoder"].Library, index.Components["text_encoder"].ClassName));
        Assert.Equal(("transformers", "T5Tokenizer"), (index.Components["tokenizer"].Library, index.Components["tokenizer"].ClassName));
        Assert.Equal(("diffusers", "UniPCMultistepScheduler"), (index.Components["scheduler"].Library, index.Components["scheduler"].ClassName));
        Assert.False(index.HasComponent("transformer_2"));
        Assert.True(index.Components.ContainsKey("transformer_2"));
        Assert.Null(index.Fields.GetOptionalDouble("boundary_ratio"));
        Assert.False(index.Fields.GetBool("expand_timesteps"));
        foreach (var c in new[] { "transformer", "vae", "text_encoder", "scheduler" })
            Assert.NotNull(index.LoadConfig(c).ClassName ?? index.LoadConfig(c).GetOptionalStringArray("architectures")?[0]);
    }

    [Fact]
    public void Weights_are_float32_finite_and_scaled_like_pytorch_init()
    {
        var index = ModelIndex.Load(demo.Directory);
        foreach (var component in new[] { "transformer", "vae", "text_encoder" })
        {
            using var weights = index.OpenWeights(component);
            Assert.NotEmpty(weights.Names);
            foreach (var name in weights.Names)
            {
                var info = weights.Info(name);
                Assert.Equal(TensorDType.F32, info.DType);
                var v = weights.ReadFloat32(name);
                Assert.All(v, x => Assert.True(float.IsFinite(x), $"{component}/{name}"));
                if (name.EndsWith(".gamma") || name.Contains("norm") && name.EndsWith(".weight"))
                    Assert.All(v, x => Assert.InRange(x, 0.95f, 1.05f));
                else if (name.EndsWith(".bias"))
                    Assert.All(v, x => Assert.InRange(x, -0.01f, 0.01f));
                else if (name == "shared.weight")
                    Assert.All(v, x => Assert.InRange(x, -1f, 1f));
                else if (info.Shape.Length >= 2 && !name.Contains("relative_attention_bias") && !name.Contains("scale_shift_table"))
                {
                    // Linear/conv: uniform ±1/√fan_in, fan_in = product of every dimension but the first.
                    double bound = 1 / Math.Sqrt(info.Shape.Skip(1).Aggregate(1L, (a, b) => a * b));
                    Assert.All(v, x => Assert.InRange(x, -bound, bound));
                    Assert.True(v.Max(Math.Abs) > 0.8 * bound, $"{component}/{name}: max |w| {v.Max(Math.Abs)} for bound {bound}");
                }
            }
        }
    }

    [Fact]
    public void Transformer_config_reads_as_the_exporters_config()
    {
        var c = ComponentConfig.FromFile(Path.Combine(demo.Directory, "transformer", "config.json")).ToRecord<WanTransformerConfig>();
        Assert.Equal((2, 16, 2, 64, 32, 256, 16, 16, 1024), (c.NumAttentionHeads, c.AttentionHeadDim, c.NumLayers, c.FfnDim, c.TextDim, c.FreqDim, c.InChannels, c.OutChannels, c.RopeMaxSeqLen));
        Assert.Equal([1, 2, 2], c.PatchSize);
        Assert.True(c.CrossAttnNorm);
        Assert.Equal("rms_norm_across_heads", c.QkNorm);
        Assert.Equal(1e-6f, c.Eps);
        Assert.Null(c.ImageDim);
    }

    [Fact]
    public void Vae_and_text_encoder_configs_have_the_expected_values()
    {
        var index = ModelIndex.Load(demo.Directory);
        var vae = index.LoadConfig("vae");
        Assert.Equal(8, vae.GetInt("base_dim"));
        Assert.Equal([1, 2, 2, 2], vae.GetIntArray("dim_mult"));
        Assert.Equal(1, vae.GetInt("num_res_blocks"));
        Assert.Equal(16, vae.GetInt("z_dim"));
        Assert.Equal(16, vae.GetDoubleArray("latents_mean").Length);
        var std = vae.GetDoubleArray("latents_std");
        Assert.Equal(16, std.Length);
        Assert.All(std, s => Assert.InRange(s, 0.75, 1.25));
        Assert.True(std.Distinct().Count() > 8);

        var te = index.LoadConfig("text_encoder");
        Assert.Equal("umt5", te.GetString("model_type"));
        Assert.Equal((32, 8, 64, 4, 2, 8, 16), (te.GetInt("d_model"), te.GetInt("d_kv"), te.GetInt("d_ff"), te.GetInt("num_heads"), te.GetInt("num_layers"),
            te.GetInt("relative_attention_num_buckets"), te.GetInt("relative_attention_max_distance")));
        Assert.Equal("gated-gelu", te.GetString("feed_forward_proj"));
        Assert.Equal(DemoVocabulary.Pieces.Count, te.GetInt("vocab_size"));
        using var weights = index.OpenWeights("text_encoder");
        Assert.Equal([DemoVocabulary.Pieces.Count, 32L], weights.Info("shared.weight").Shape);
    }

    [ConformanceFact]
    public void Scheduler_gives_the_same_schedule_as_the_conformance_wan21_scheduler()
    {
        var demoScheduler = SchedulerRegistry.Default.Load(Path.Combine(demo.Directory, "scheduler"));
        var reference = SchedulerRegistry.Default.Load(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "scheduler"));
        Assert.Equal("UniPCMultistepScheduler", demoScheduler.ClassName);
        demoScheduler.SetTimesteps(12);
        reference.SetTimesteps(12);
        Assert.Equal(reference.Timesteps, demoScheduler.Timesteps);
        Assert.Equal(reference.Sigmas, demoScheduler.Sigmas);
    }

    [ConformanceFact]
    public void Scheduler_config_has_every_field_value_of_the_conformance_one()
    {
        var demoConfig = ComponentConfig.Load(Path.Combine(demo.Directory, "scheduler"));
        var reference = ComponentConfig.Load(Path.Combine(Fixtures.Checkpoint("wan21_t2v"), "scheduler"));
        Assert.Equal(reference.Keys.Order(StringComparer.Ordinal), demoConfig.Keys.Order(StringComparer.Ordinal));
        foreach (var key in reference.Keys.Where(k => k != "_diffusers_version"))
            Assert.True(System.Text.Json.JsonElement.DeepEquals(reference.Root.GetProperty(key), demoConfig.Root.GetProperty(key)), key);
    }
}
