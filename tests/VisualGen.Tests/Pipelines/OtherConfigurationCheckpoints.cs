using System.Text.Json;
using VisualGen.Tests.Models;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Pipelines;

/// <summary>
/// Complete diffusers-layout checkpoint folders whose transformer has a configuration unlike the conformance
/// fixture's (head count, head dim, layer counts, RoPE axes, FFN and timestep sizes), with fresh random weights from the
/// key builders the module-level random-checkpoint tests use. Tokenizers, text encoders and VAEs are copied from the
/// fixture: the transformer's text and latent widths must match them, and new ones would test nothing new here.
/// </summary>
static class OtherConfigurationCheckpoints
{
    /// <summary>FLUX.1-schnell's shape: no guidance embedding, and its scheduler (shift 1.0, no dynamic shifting).</summary>
    public static string FluxSchnell() => Flux("flux-schnell", new FluxTransformerReference
    {
        InChannels = 16, Heads = 3, HeadDim = 8, JointAttentionDim = 32, PooledProjectionDim = 32,
        NumLayers = 2, NumSingleLayers = 1, GuidanceEmbeds = false, AxesDimsRope = [2, 2, 4],
    }, SchnellScheduler);

    /// <summary>FLUX.1-dev's shape (guidance embedding, the fixture's dynamic-shifting scheduler) with other sizes.</summary>
    public static string FluxDev() => Flux("flux-dev", new FluxTransformerReference
    {
        InChannels = 16, Heads = 4, HeadDim = 8, JointAttentionDim = 32, PooledProjectionDim = 32,
        NumLayers = 1, NumSingleLayers = 3, GuidanceEmbeds = true, AxesDimsRope = [4, 2, 2],
    }, scheduler: null);

    /// <summary>FLUX.1-schnell's scheduler_config.json as the model ships it.</summary>
    const string SchnellScheduler = """
        {
          "_class_name": "FlowMatchEulerDiscreteScheduler",
          "_diffusers_version": "0.29.0.dev0",
          "base_image_seq_len": 256,
          "base_shift": 0.5,
          "max_image_seq_len": 4096,
          "max_shift": 1.15,
          "num_train_timesteps": 1000,
          "shift": 1.0,
          "use_dynamic_shifting": false
        }
        """;

    static string Flux(string name, FluxTransformerReference transformer, string? scheduler)
    {
        string dir = FromFixture("flux1", name, "tokenizer", "tokenizer_2", "text_encoder", "text_encoder_2", "vae", "scheduler");
        transformer.Write(Path.Combine(dir, "transformer"), seed: 5);
        if (scheduler is not null) File.WriteAllText(Path.Combine(dir, "scheduler", "scheduler_config.json"), scheduler);
        return dir;
    }

    /// <summary>FLUX.2 with 3 heads of 8, two double blocks and one single block, mlp_ratio 2, rope_theta 500, RoPE axes
    /// (2, 2, 2, 2) (the fixture: 2 × 16, one double and two single blocks, mlp_ratio 3, theta 2000, (4, 4, 4, 4)).</summary>
    public static string Flux2()
    {
        string dir = FromFixture("flux2", "flux2", "tokenizer", "text_encoder", "vae", "scheduler");
        new Flux2TransformerReference
        {
            InChannels = 32, Heads = 3, HeadDim = 8, JointAttentionDim = 48, NumLayers = 2, NumSingleLayers = 1,
            GuidanceEmbeds = true, AxesDimsRope = [2, 2, 2, 2], MlpRatio = 2.0, RopeTheta = 500,
        }.Write(Path.Combine(dir, "transformer"), seed: 6);
        return dir;
    }

    /// <summary>Qwen-Image with 3 heads of 8, one block and RoPE axes (2, 2, 4) (the fixture: 2 × 16, two blocks, (8, 4, 4)).</summary>
    public static string QwenImage()
    {
        string dir = FromFixture("qwenimage", "qwen-image", "tokenizer", "text_encoder", "vae", "scheduler");
        QwenImageTransformerRandomTests.WriteRandomCheckpoint(heads: 3, headDim: 8, axes: [2, 2, 4], layers: 1,
            inChannels: 64, outChannels: 16, jointDim: 32, dir: Path.Combine(dir, "transformer"), seed: 7);
        return dir;
    }

    /// <summary>Wan 2.1 T2V with 3 heads of 12, one block (or <paramref name="layers"/>), ffn 40, freq_dim 32, rope_max_seq_len 24
    /// (the fixture: 2 × 16, two blocks, ffn 64, freq_dim 256, 32).</summary>
    public static string Wan21(int layers = 1)
    {
        string dir = FromFixture("wan21_t2v", "wan21", "tokenizer", "text_encoder", "vae", "scheduler");
        var config = new WanTransformerTestConfig(Heads: 3, HeadDim: 12, Layers: layers, FfnDim: 40, TextDim: 32, FreqDim: 32,
            InChannels: 16, OutChannels: 16, Patch: [1, 2, 2], RopeMaxSeqLen: 24, Eps: 1e-6);
        string transformer = Directory.CreateDirectory(Path.Combine(dir, "transformer")).FullName;
        WanTransformerReferenceTests.WriteCheckpoint(transformer, config, WanTransformerReferenceTests.RandomWeights(config, new Random(9)));
        return dir;
    }

    /// <summary>Cosmos3 with 4 query heads of 8 over 2 K/V heads, hidden size 24, one layer, mRoPE sections (2, 1, 1) and
    /// rope_theta 10⁴ (the fixture: 2 × 16 over 1, hidden 32, two layers, (4, 2, 2), 5·10⁶); latent width 48 as the VAE's.</summary>
    public static (string Dir, Cosmos3TransformerReference Transformer) Cosmos3()
    {
        string dir = FromFixture("cosmos3_t2v", "cosmos3", "text_tokenizer", "vae", "scheduler");
        var transformer = new Cosmos3TransformerReference
        {
            HiddenSize = 24, Heads = 4, KvHeads = 2, HeadDim = 8, IntermediateSize = 40, Layers = 1, VocabSize = 425,
            LatentChannels = 48, RopeAxesDim = [2, 1, 1], RopeTheta = 10000,
        };
        transformer.Write(Path.Combine(dir, "transformer"), seed: 13);
        return (dir, transformer);
    }

    /// <summary>A new folder with the fixture's model_index.json and the named component folders copied.</summary>
    static string FromFixture(string family, string name, params string[] components)
    {
        string source = Fixtures.Checkpoint(family);
        string dir = Fixtures.TempDir($"vg-{name}");
        File.Copy(Path.Combine(source, "model_index.json"), Path.Combine(dir, "model_index.json"));
        foreach (var c in components) CopyFolder(Path.Combine(source, c), Path.Combine(dir, c));
        return dir;
    }

    static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyFolder(d, Path.Combine(to, Path.GetFileName(d)));
    }

    /// <summary>The transformer's config.json as the test wrote it (to assert the configuration really differs).</summary>
    public static JsonElement TransformerConfig(string dir) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "transformer", "config.json"))).RootElement.Clone();
}

/// <summary>Deletes a test-built checkpoint folder when the test ends.</summary>
sealed class DeletedOnDispose(string path) : IDisposable
{
    public void Dispose()
    {
        if (Directory.Exists(path)) Directory.Delete(path, recursive: true);
    }
}
