using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Graph;
using VisualGen.Exporter.Models.QwenImage;
using VisualGen.Tensors;
using VisualGen.Tests.Support;

namespace VisualGen.Tests.Models;

/// <summary>QwenImageTransformer2DModel beyond the golden: its RoPE against a float64 evaluation of diffusers'
/// QwenEmbedRope for other grids, and a random checkpoint of another configuration (head count, head dim, rope
/// axes, channels) that exports and runs under ONNX Runtime.</summary>
public class QwenImageTransformerRandomTests
{
    [Theory]
    [InlineData(1, 4, 3, 5)]
    [InlineData(1, 5, 7, 3)]
    [InlineData(2, 3, 4, 1)]
    [InlineData(1, 1, 6, 9)]
    public void Rope_matches_a_float64_evaluation_of_QwenEmbedRope(int frames, int height, int width, int textLen)
    {
        int[] axes = [4, 6, 6];
        var tracer = new Tracer("rope");
        var shapes = tracer.Input("img_shapes", TensorDType.I64, "3");
        var text = tracer.Input("text", TensorDType.F32, "1", "text_len");
        var (img, txt) = new QwenEmbedRope(axes).Forward(shapes, text.Size(1));
        tracer.Output(img.Cos, "img_cos"); tracer.Output(img.Sin, "img_sin");
        tracer.Output(txt.Cos, "txt_cos"); tracer.Output(txt.Sin, "txt_sin");
        using var engine = OrtTestEngine.Build(tracer.Graph, "rope");
        var o = engine.Run(new Dictionary<string, HostTensor>
        {
            ["img_shapes"] = HostTensor.Int64([frames, height, width], 3),
            ["text"] = HostTensor.Zeros(1, textLen),
        });

        // diffusers: frame positions idx.., height/width centred by scale_rope (neg_freqs[-(h - h//2):] then pos_freqs[:h//2]),
        // text at max(h//2, w//2) + i on every axis
        var imgPositions = new List<int[]>();
        for (int f = 0; f < frames; f++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    imgPositions.Add([f, y - (height - height / 2), x - (width - width / 2)]);
        int textStart = Math.Max(height / 2, width / 2);
        var txtPositions = Enumerable.Range(0, textLen).Select(i => new[] { textStart + i, textStart + i, textStart + i }).ToList();
        Check(imgPositions, o["img_cos"], o["img_sin"]);
        Check(txtPositions, o["txt_cos"], o["txt_sin"]);

        void Check(List<int[]> positions, HostTensor cos, HostTensor sin)
        {
            int half = axes.Sum() / 2;
            Assert.Equal(new long[] { positions.Count, half }, cos.Shape);
            for (int t = 0; t < positions.Count; t++)
            {
                int k = 0;
                for (int a = 0; a < 3; a++)
                    for (int j = 0; j < axes[a] / 2; j++, k++)
                    {
                        double angle = positions[t][a] / Math.Pow(10000.0, 2.0 * j / axes[a]);
                        Assert.True(Math.Abs(Math.Cos(angle) - cos.Floats[t * half + k]) < 1e-5, $"cos token {t} pair {k}");
                        Assert.True(Math.Abs(Math.Sin(angle) - sin.Floats[t * half + k]) < 1e-5, $"sin token {t} pair {k}");
                    }
            }
        }
    }

    [Fact]
    public void Random_checkpoint_of_another_configuration_exports_and_runs_batch_independently()
    {
        string dir = WriteRandomCheckpoint(heads: 3, headDim: 8, axes: [2, 2, 4], layers: 2, inChannels: 16, outChannels: 4, jointDim: 12);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        using var engine = OrtTestEngine.Build(QwenImageTransformer2DModel.Trace(dir, weights), "transformer");
        var rng = new Random(3);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        const int tokens = 6, textLen = 5;
        var hs = Rand(2 * tokens * 16);
        var ctx = Rand(2 * textLen * 12);
        float[] timesteps = [0.9f, 0.3f];
        HostTensor Run(int from, int batch, long[] grid) => engine.Run(new Dictionary<string, HostTensor>
        {
            ["hidden_states"] = HostTensor.Float32(hs.AsSpan(from * tokens * 16, batch * tokens * 16).ToArray(), batch, tokens, 16),
            ["timestep"] = HostTensor.Float32(timesteps.AsSpan(from, batch).ToArray(), batch),
            ["encoder_hidden_states"] = HostTensor.Float32(ctx.AsSpan(from * textLen * 12, batch * textLen * 12).ToArray(), batch, textLen, 12),
            ["img_shapes"] = HostTensor.Int64(grid, 3),
        })["sample"];

        var both = Run(0, 2, [1, 2, 3]);
        Assert.Equal(new long[] { 2, tokens, 2 * 2 * 4 }, both.Shape);
        Assert.All(both.Floats, v => Assert.True(float.IsFinite(v)));
        var first = Run(0, 1, [1, 2, 3]);
        var second = Run(1, 1, [1, 2, 3]);
        int n = first.Floats.Length;
        Assert.True(Compare.MaxAbs(first.Floats, both.Floats.AsSpan(0, n)) < 1e-5);
        Assert.True(Compare.MaxAbs(second.Floats, both.Floats.AsSpan(n, n)) < 1e-5);
        // the same tokens on a transposed grid get other positions: RoPE reaches the output
        Assert.True(Compare.MaxAbs(first.Floats, Run(0, 1, [1, 3, 2]).Floats) > 1e-4);
    }

    [Fact]
    public void Unsupported_config_and_mismatched_weights_are_named()
    {
        string dir = WriteRandomCheckpoint(heads: 2, headDim: 8, axes: [2, 2, 4], layers: 1, inChannels: 16, outChannels: 4, jointDim: 12);
        using var weights = SafeTensorsFile.Open(Path.Combine(dir, "diffusion_pytorch_model.safetensors"));
        string configPath = Path.Combine(dir, "config.json");
        string config = File.ReadAllText(configPath);

        File.WriteAllText(configPath, config.Replace("\"zero_cond_t\":false", "\"zero_cond_t\":true"));
        Assert.Contains("zero_cond_t", Assert.Throws<CheckpointException>(() => QwenImageTransformer2DModel.Trace(dir, weights)).Message);

        File.WriteAllText(configPath, config.Replace("\"axes_dims_rope\":[2,2,4]", "\"axes_dims_rope\":[2,2,2]"));
        Assert.Contains("axes_dims_rope", Assert.Throws<CheckpointException>(() => QwenImageTransformer2DModel.Trace(dir, weights)).Message);

        File.WriteAllText(configPath, config.Replace("\"num_layers\":1", "\"num_layers\":2"));
        Assert.Contains("transformer_blocks.1", Assert.Throws<CheckpointException>(() => QwenImageTransformer2DModel.Trace(dir, weights)).Message);
    }

    /// <summary>A random QwenImageTransformer2DModel folder; the key list follows diffusers' module tree, written out
    /// here independently of the exporter. Written into <paramref name="dir"/> (a new temporary folder when null).</summary>
    internal static string WriteRandomCheckpoint(int heads, int headDim, int[] axes, int layers, int inChannels, int outChannels, int jointDim,
        string? dir = null, int seed = 11)
    {
        dir ??= Fixtures.TempDir("qwen-transformer");
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        var tensors = new List<TensorData>();
        int dim = heads * headDim;
        void Add(string name, params long[] shape)
        {
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            bool norm = name.EndsWith("norm_q.weight") || name.EndsWith("norm_k.weight") || name.Contains("norm_added") || name == "txt_norm.weight";
            var v = Enumerable.Range(0, n).Select(_ => (float)((norm ? 1 : 0) + (rng.NextDouble() * 2 - 1) * (norm ? 0.2 : 0.4))).ToArray();
            tensors.Add(TensorData.Float32(name, shape, v));
        }
        void Linear(string name, int i, int o) { Add(name + ".weight", o, i); Add(name + ".bias", o); }
        Linear("img_in", inChannels, dim);
        Add("txt_norm.weight", jointDim);
        Linear("txt_in", jointDim, dim);
        Linear("time_text_embed.timestep_embedder.linear_1", 256, dim);
        Linear("time_text_embed.timestep_embedder.linear_2", dim, dim);
        for (int l = 0; l < layers; l++)
        {
            string b = $"transformer_blocks.{l}.";
            Linear(b + "img_mod.1", dim, 6 * dim);
            Linear(b + "txt_mod.1", dim, 6 * dim);
            foreach (var p in new[] { "to_q", "to_k", "to_v", "add_q_proj", "add_k_proj", "add_v_proj", "to_out.0", "to_add_out" })
                Linear(b + "attn." + p, dim, dim);
            foreach (var p in new[] { "norm_q", "norm_k", "norm_added_q", "norm_added_k" }) Add(b + "attn." + p + ".weight", headDim);
            foreach (var m in new[] { "img_mlp", "txt_mlp" })
            {
                Linear(b + m + ".net.0.proj", dim, 4 * dim);
                Linear(b + m + ".net.2", 4 * dim, dim);
            }
        }
        Linear("norm_out.linear", dim, 2 * dim);
        Linear("proj_out", dim, 4 * outChannels);
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), tensors);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["_class_name"] = "QwenImageTransformer2DModel", ["attention_head_dim"] = headDim, ["axes_dims_rope"] = axes,
            ["guidance_embeds"] = false, ["in_channels"] = inChannels, ["joint_attention_dim"] = jointDim,
            ["num_attention_heads"] = heads, ["num_layers"] = layers, ["out_channels"] = outChannels, ["patch_size"] = 2,
            ["zero_cond_t"] = false, ["use_additional_t_cond"] = false, ["use_layer3d_rope"] = false,
        }));
        return dir;
    }
}
