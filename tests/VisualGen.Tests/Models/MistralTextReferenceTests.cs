using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Flux2;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>
/// FLUX.2's text encoder graph on a test-built random Mistral3 checkpoint of another configuration than the fixture's:
/// an explicit head_dim (6) that is not hidden_size / heads (20 / 4), 4 query heads over 2 K/V heads, 3 layers saved
/// under transformers' newer "model.language_model." prefix beside vision-tower weights the graph must skip, and
/// hidden states (1, 3) — the last one after the final norm. Checked against an independent float64 forward
/// (causal + padding mask, rotate-half RoPE at positions 0..seq−1) on a right-padded batch of 2.
/// </summary>
public class MistralTextReferenceTests(ITestOutputHelper output)
{
    const int Vocab = 40, Hidden = 20, Inter = 24, Heads = 4, KvHeads = 2, HeadDim = 6, Layers = 3;
    const double Theta = 1000, Eps = 1e-5;
    readonly Dictionary<string, (long[] Shape, float[] Values)> _w = [];
    readonly Random _rng = new(21);

    string Write()
    {
        string dir = Fixtures.TempDir("mistral");
        const string p = "model.language_model.";
        Put(p + "embed_tokens.weight", [Vocab, Hidden], 1f);
        for (int l = 0; l < Layers; l++)
        {
            string b = $"{p}layers.{l}.";
            Put(b + "self_attn.q_proj.weight", [Heads * HeadDim, Hidden]);
            Put(b + "self_attn.k_proj.weight", [KvHeads * HeadDim, Hidden]);
            Put(b + "self_attn.v_proj.weight", [KvHeads * HeadDim, Hidden]);
            Put(b + "self_attn.o_proj.weight", [Hidden, Heads * HeadDim]);
            Put(b + "mlp.gate_proj.weight", [Inter, Hidden]);
            Put(b + "mlp.up_proj.weight", [Inter, Hidden]);
            Put(b + "mlp.down_proj.weight", [Hidden, Inter]);
            Norm(b + "input_layernorm.weight");
            Norm(b + "post_attention_layernorm.weight");
        }
        Norm(p + "norm.weight");
        Put("model.vision_tower.patch_conv.weight", [4, 3, 2, 2]);
        Put("model.multi_modal_projector.linear_1.weight", [Hidden, 4]);
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), _w.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Values)));
        var config = new
        {
            architectures = new[] { "Mistral3ForConditionalGeneration" }, model_type = "mistral3",
            text_config = new
            {
                model_type = "mistral", vocab_size = Vocab, hidden_size = Hidden, intermediate_size = Inter, num_hidden_layers = Layers,
                num_attention_heads = Heads, num_key_value_heads = KvHeads, head_dim = HeadDim, hidden_act = "silu", rms_norm_eps = Eps,
                rope_parameters = new { rope_theta = Theta, rope_type = "default" }, sliding_window = (int?)null,
            },
        };
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(config));
        return dir;
    }

    void Put(string name, long[] shape, float scale = 0)
    {
        int n = (int)shape.Aggregate(1L, (a, b) => a * b);
        float s = scale > 0 ? scale : 1f / MathF.Sqrt(shape[^1]);
        _w[name] = (shape, Enumerable.Range(0, n).Select(_ => (float)(_rng.NextDouble() * 2 - 1) * s).ToArray());
    }

    void Norm(string name) => _w[name] = ([Hidden], Enumerable.Range(0, Hidden).Select(_ => 1 + (float)(_rng.NextDouble() - 0.5) * 0.4f).ToArray());

    double[] W(string name) => Array.ConvertAll(_w["model.language_model." + name].Values, v => (double)v);

    static double[] Lin(double[] w, double[] x, int rows, int inF)
    {
        int outF = w.Length / inF;
        var y = new double[rows * outF];
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < outF; o++)
            {
                double s = 0;
                for (int i = 0; i < inF; i++) s += x[r * inF + i] * w[o * inF + i];
                y[r * outF + o] = s;
            }
        return y;
    }

    static double[] Rms(double[] x, double[] w, int rows)
    {
        var y = new double[x.Length];
        for (int r = 0; r < rows; r++)
        {
            double ms = 0;
            for (int i = 0; i < Hidden; i++) ms += x[r * Hidden + i] * x[r * Hidden + i];
            double inv = 1 / Math.Sqrt(ms / Hidden + Eps);
            for (int i = 0; i < Hidden; i++) y[r * Hidden + i] = x[r * Hidden + i] * inv * w[i];
        }
        return y;
    }

    /// <summary>Rotate-half RoPE of [seq, heads·head_dim] at positions 0..seq−1.</summary>
    static double[] Rope(double[] x, int seq, int heads)
    {
        var y = new double[x.Length];
        int half = HeadDim / 2;
        for (int s = 0; s < seq; s++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < half; i++)
                {
                    double a = s / Math.Pow(Theta, 2.0 * i / HeadDim), c = Math.Cos(a), sn = Math.Sin(a);
                    int o = (s * heads + h) * HeadDim;
                    y[o + i] = x[o + i] * c - x[o + i + half] * sn;
                    y[o + i + half] = x[o + i + half] * c + x[o + i] * sn;
                }
        return y;
    }

    /// <summary>Hidden states 0..Layers of one sequence (the last after the final norm).</summary>
    double[][] Forward(long[] ids, long[] mask)
    {
        int seq = ids.Length;
        var emb = W("embed_tokens.weight");
        var x = new double[seq * Hidden];
        for (int s = 0; s < seq; s++) Array.Copy(emb, ids[s] * Hidden, x, s * Hidden, Hidden);
        var states = new List<double[]> { x };
        for (int l = 0; l < Layers; l++)
        {
            string b = $"layers.{l}.";
            var h = Rms(x, W(b + "input_layernorm.weight"), seq);
            var q = Rope(Lin(W(b + "self_attn.q_proj.weight"), h, seq, Hidden), seq, Heads);
            var k = Rope(Lin(W(b + "self_attn.k_proj.weight"), h, seq, Hidden), seq, KvHeads);
            var v = Lin(W(b + "self_attn.v_proj.weight"), h, seq, Hidden);
            var o = new double[seq * Heads * HeadDim];
            for (int hd = 0; hd < Heads; hd++)
            {
                int kv = hd / (Heads / KvHeads);
                for (int i = 0; i < seq; i++)
                {
                    var p = new double[seq];
                    double max = double.NegativeInfinity;
                    for (int j = 0; j < seq; j++)
                    {
                        if (j > i || mask[j] == 0) { p[j] = double.NegativeInfinity; continue; }
                        double s = 0;
                        for (int d = 0; d < HeadDim; d++) s += q[(i * Heads + hd) * HeadDim + d] * k[(j * KvHeads + kv) * HeadDim + d];
                        p[j] = s / Math.Sqrt(HeadDim);
                        max = Math.Max(max, p[j]);
                    }
                    double sum = 0;
                    for (int j = 0; j < seq; j++) { p[j] = double.IsNegativeInfinity(p[j]) ? 0 : Math.Exp(p[j] - max); sum += p[j]; }
                    for (int j = 0; j < seq; j++)
                        for (int d = 0; d < HeadDim; d++) o[(i * Heads + hd) * HeadDim + d] += p[j] / sum * v[(j * KvHeads + kv) * HeadDim + d];
                }
            }
            var attn = Lin(W(b + "self_attn.o_proj.weight"), o, seq, Heads * HeadDim);
            x = x.Zip(attn, (a, c) => a + c).ToArray();
            var n = Rms(x, W(b + "post_attention_layernorm.weight"), seq);
            var gate = Lin(W(b + "mlp.gate_proj.weight"), n, seq, Hidden);
            var up = Lin(W(b + "mlp.up_proj.weight"), n, seq, Hidden);
            var act = gate.Zip(up, (g, u) => g / (1 + Math.Exp(-g)) * u).ToArray();
            var down = Lin(W(b + "mlp.down_proj.weight"), act, seq, Inter);
            x = x.Zip(down, (a, c) => a + c).ToArray();
            states.Add(x);
        }
        states[^1] = Rms(states[^1], W("norm.weight"), seq);
        return states.ToArray();
    }

    [Fact]
    public void Random_mistral_checkpoint_matches_float64_reference()
    {
        string dir = Write();
        try
        {
            using var weights = ComponentWeights.Open(dir);
            int[] layers = [1, 3];
            using var engine = OrtTestEngine.Build(Flux2TextEncoder.Trace(dir, weights, layers), "text_encoder");
            const int seq = 7;
            long[][] ids = [[1, 5, 9, 33, 2, 0, 0], [1, 17, 4, 8, 21, 39, 12]];
            long[][] mask = [[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1, 1]];
            var actual = engine.Run(new Dictionary<string, HostTensor>
            {
                ["input_ids"] = HostTensor.Int64([.. ids[0], .. ids[1]], 2, seq),
                ["attention_mask"] = HostTensor.Int64([.. mask[0], .. mask[1]], 2, seq),
            })["prompt_embeds"];
            Assert.Equal([2L, seq, layers.Length * Hidden], actual.Shape);
            var expected = new List<float>();
            for (int b = 0; b < 2; b++)
            {
                var states = Forward(ids[b], mask[b]);
                for (int s = 0; s < seq; s++)
                    foreach (int l in layers)
                        expected.AddRange(states[l].Skip(s * Hidden).Take(Hidden).Select(v => (float)v));
            }
            var reference = expected.ToArray();
            output.WriteLine($"prompt_embeds: max abs error {Compare.MaxAbs(reference, actual.Floats):g3} (max |ref| {Compare.MaxAbsRef(reference):g3})");
            Compare.Component(reference, actual.Floats, "random Mistral hidden states 1 and 3");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_sliding_window_is_refused()
    {
        string dir = Write();
        try
        {
            string config = Path.Combine(dir, "config.json");
            File.WriteAllText(config, File.ReadAllText(config).Replace("\"sliding_window\":null", "\"sliding_window\":4"));
            using var weights = ComponentWeights.Open(dir);
            var e = Assert.Throws<CheckpointException>(() => Flux2TextEncoder.Trace(dir, weights, [1, 3]));
            Assert.Contains("sliding_window", e.Message);
        }
        finally { Directory.Delete(dir, true); }
    }
}
