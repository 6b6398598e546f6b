using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Wan;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>
/// The exported Wan transformer on a random checkpoint the test builds itself, with a configuration unlike the
/// fixture's (3 heads of 12, 2 layers, ffn 40, text dim 20, freq dim 32, 4 channels, a non-square latent grid),
/// run through ONNX Runtime CPU and compared with <see cref="WanTransformerReference"/>, a float64 loop
/// implementation of diffusers' math. Both the per-batch timestep and the per-token (expand_timesteps) forms.
/// </summary>
public class WanTransformerReferenceTests(ITestOutputHelper output)
{
    static readonly WanTransformerTestConfig Config = new(Heads: 3, HeadDim: 12, Layers: 2, FfnDim: 40, TextDim: 20, FreqDim: 32,
        InChannels: 4, OutChannels: 4, Patch: [1, 2, 2], RopeMaxSeqLen: 16, Eps: 1e-6);

    const int Batch = 2, Frames = 3, Height = 4, Width = 6, TextLen = 5;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Random_checkpoint_matches_float64_reference(bool perTokenTimesteps)
    {
        var c = Config;
        var rng = new Random(2025);
        var weights = RandomWeights(c, rng);
        string dir = Fixtures.TempDir("wanref");
        try
        {
            WriteCheckpoint(dir, c, weights);

            int tokens = Frames / c.Patch[0] * (Height / c.Patch[1]) * (Width / c.Patch[2]);
            var hidden = Uniform(rng, Batch * c.InChannels * Frames * Height * Width, 1f);
            var text = Uniform(rng, Batch * TextLen * c.TextDim, 1f);
            // per token: the first latent frame clean (t = 0, as Wan 2.2 TI2V's mask does), the rest at random times
            float[] timestep = perTokenTimesteps
                ? Enumerable.Range(0, Batch * tokens).Select(i => i % tokens < tokens / Frames ? 0f : (float)Math.Round(rng.NextDouble() * 999, 3)).ToArray()
                : [999f, 500f];
            long[] timestepShape = perTokenTimesteps ? [Batch, tokens] : [Batch];

            HostTensor actual;
            using (var source = ComponentWeights.Open(dir))
            using (var engine = OrtTestEngine.Build(WanTransformer3D.Trace(dir, source, perTokenTimesteps), "transformer"))
                actual = engine.Run(new Dictionary<string, HostTensor>
                {
                    ["hidden_states"] = HostTensor.Float32(hidden, Batch, c.InChannels, Frames, Height, Width),
                    ["timestep"] = HostTensor.Float32(timestep, timestepShape),
                    ["encoder_hidden_states"] = HostTensor.Float32(text, Batch, TextLen, c.TextDim),
                })["sample"];

            var values = weights.ToDictionary(t => t.Name, t => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.Bytes.Span).ToArray());
            var reference = new WanTransformerReference(c, values)
                .Forward(hidden, Batch, Frames, Height, Width, timestep, perTokenTimesteps, text, TextLen);
            var expected = reference.Select(v => (float)v).ToArray();

            Assert.Equal([Batch, (long)c.OutChannels, Frames, Height, Width], actual.Shape);
            Assert.All(expected, v => Assert.True(double.IsFinite(v)));
            output.WriteLine($"per-token timesteps {perTokenTimesteps}: max abs error {Compare.MaxAbs(expected, actual.Floats):g3} " +
                $"(max |ref| {Compare.MaxAbsRef(expected):g3}, mean |ref| {expected.Average(MathF.Abs):g3})");
            Compare.Component(expected, actual.Floats, $"wan transformer (per-token timesteps: {perTokenTimesteps})");
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    /// <summary>Every tensor of a T2V WanTransformer3DModel under diffusers' names, written out here from
    /// transformer_wan.py's module tree (not from the exporter), so the exporter's unused-key check also tests its
    /// naming. Linear weights and biases uniform ±1/√fan_in, norm weights 1 ± 0.1, norm biases ±0.1, scale_shift_tables
    /// randn/√dim (as diffusers initializes them).</summary>
    internal static List<TensorData> RandomWeights(WanTransformerTestConfig c, Random rng)
    {
        var w = new List<TensorData>();
        int d = c.Dim, pp = c.Patch[0] * c.Patch[1] * c.Patch[2];
        void Add(string name, long[] shape, float[] values) => w.Add(TensorData.Float32(name, shape, values));
        void Linear(string p, int inF, int outF)
        {
            Add(p + ".weight", [outF, inF], Uniform(rng, outF * inF, 1 / MathF.Sqrt(inF)));
            Add(p + ".bias", [outF], Uniform(rng, outF, 1 / MathF.Sqrt(inF)));
        }
        void Norm(string p, bool bias)
        {
            Add(p + ".weight", [d], Uniform(rng, d, 0.1f).Select(v => 1 + v).ToArray());
            if (bias) Add(p + ".bias", [d], Uniform(rng, d, 0.1f));
        }
        void Table(string name, int rows) =>
            Add(name, [1, rows, d], Enumerable.Range(0, rows * d).Select(_ => (float)(Gaussian(rng) / Math.Sqrt(d))).ToArray());

        Add("patch_embedding.weight", [d, c.InChannels, c.Patch[0], c.Patch[1], c.Patch[2]], Uniform(rng, d * c.InChannels * pp, 1 / MathF.Sqrt(c.InChannels * pp)));
        Add("patch_embedding.bias", [d], Uniform(rng, d, 1 / MathF.Sqrt(c.InChannels * pp)));
        Linear("condition_embedder.time_embedder.linear_1", c.FreqDim, d);
        Linear("condition_embedder.time_embedder.linear_2", d, d);
        Linear("condition_embedder.time_proj", d, 6 * d);
        Linear("condition_embedder.text_embedder.linear_1", c.TextDim, d);
        Linear("condition_embedder.text_embedder.linear_2", d, d);
        for (int l = 0; l < c.Layers; l++)
        {
            string b = $"blocks.{l}.";
            foreach (var attn in new[] { "attn1", "attn2" })
            {
                foreach (var m in new[] { "to_q", "to_k", "to_v", "to_out.0" }) Linear(b + attn + "." + m, d, d);
                Norm(b + attn + ".norm_q", bias: false);
                Norm(b + attn + ".norm_k", bias: false);
            }
            Norm(b + "norm2", bias: true);
            Linear(b + "ffn.net.0.proj", d, c.FfnDim);
            Linear(b + "ffn.net.2", c.FfnDim, d);
            Table(b + "scale_shift_table", 6);
        }
        Linear("proj_out", d, c.OutChannels * pp);
        Table("scale_shift_table", 2);
        return w;
    }

    internal static void WriteCheckpoint(string dir, WanTransformerTestConfig c, List<TensorData> weights)
    {
        SafeTensorsWriter.Write(Path.Combine(dir, "diffusion_pytorch_model.safetensors"), weights);
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["_class_name"] = "WanTransformer3DModel", ["patch_size"] = c.Patch, ["num_attention_heads"] = c.Heads,
            ["attention_head_dim"] = c.HeadDim, ["in_channels"] = c.InChannels, ["out_channels"] = c.OutChannels,
            ["text_dim"] = c.TextDim, ["freq_dim"] = c.FreqDim, ["ffn_dim"] = c.FfnDim, ["num_layers"] = c.Layers,
            ["cross_attn_norm"] = true, ["qk_norm"] = "rms_norm_across_heads", ["eps"] = c.Eps, ["image_dim"] = null,
            ["added_kv_proj_dim"] = null, ["rope_max_seq_len"] = c.RopeMaxSeqLen, ["pos_embed_seq_len"] = null,
        }));
    }

    static float[] Uniform(Random rng, int n, float bound) =>
        Enumerable.Range(0, n).Select(_ => bound * (float)(rng.NextDouble() * 2 - 1)).ToArray();

    static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
