using System.Text.Json;
using VisualGen.Checkpoints;
using VisualGen.Exporter.Models.Shared.Clip;
using VisualGen.Tensors;
using VisualGen.Tests.Support;
using Xunit.Abstractions;

namespace VisualGen.Tests.Models;

/// <summary>CLIPTextModel on small random checkpoints against a float64 loop implementation: both pooling rules
/// (legacy eos_token_id 2 = argmax of the ids; otherwise the first EOS), the causal mask, and another activation.</summary>
public class ClipTextReferenceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(2L, "quick_gelu")]
    [InlineData(7L, "gelu")]
    public void Random_checkpoint_matches_float64_reference(long eosTokenId, string act)
    {
        const int vocab = 40, hidden = 12, heads = 3, inter = 20, layers = 2, maxPos = 10, batch = 2, seq = 9;
        var rng = new Random(99);
        var w = new Dictionary<string, (long[] Shape, float[] Data)>();
        void Add(string name, long[] shape, float std, float mean = 0)
        {
            var d = new float[shape.Aggregate(1L, (a, b) => a * b)];
            for (int i = 0; i < d.Length; i++) d[i] = mean + std * (float)(rng.NextDouble() * 2 - 1);
            w[name] = (shape, d);
        }
        Add("embeddings.token_embedding.weight", [vocab, hidden], 1f);
        Add("embeddings.position_embedding.weight", [maxPos, hidden], 0.5f);
        for (int l = 0; l < layers; l++)
        {
            string p = $"encoder.layers.{l}.";
            foreach (var n in new[] { "layer_norm1", "layer_norm2" }) { Add(p + n + ".weight", [hidden], 0.2f, 1f); Add(p + n + ".bias", [hidden], 0.2f); }
            foreach (var n in new[] { "q_proj", "k_proj", "v_proj", "out_proj" }) { Add(p + $"self_attn.{n}.weight", [hidden, hidden], 0.5f); Add(p + $"self_attn.{n}.bias", [hidden], 0.2f); }
            Add(p + "mlp.fc1.weight", [inter, hidden], 0.5f); Add(p + "mlp.fc1.bias", [inter], 0.2f);
            Add(p + "mlp.fc2.weight", [hidden, inter], 0.5f); Add(p + "mlp.fc2.bias", [hidden], 0.2f);
        }
        Add("final_layer_norm.weight", [hidden], 0.2f, 1f); Add("final_layer_norm.bias", [hidden], 0.2f);

        string dir = Fixtures.TempDir("clip");
        SafeTensorsWriter.Write(Path.Combine(dir, "model.safetensors"), w.Select(kv => TensorData.Float32(kv.Key, kv.Value.Shape, kv.Value.Data)));
        File.WriteAllText(Path.Combine(dir, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "clip_text_model", ["vocab_size"] = vocab, ["hidden_size"] = hidden, ["num_attention_heads"] = heads,
            ["intermediate_size"] = inter, ["num_hidden_layers"] = layers, ["max_position_embeddings"] = maxPos,
            ["hidden_act"] = act, ["layer_norm_eps"] = 1e-5, ["eos_token_id"] = eosTokenId,
        }));

        // row 0: EOS (7) at 4 then padding with EOS; row 1: EOS at 6, the largest id (39) at 2
        long[] ids = [3, 5, 9, 11, 7, 7, 7, 7, 7, 4, 8, 39, 12, 6, 10, 7, 7, 7];
        HostTensor last, pooled;
        using (var weights = ComponentWeights.Open(dir))
        using (var engine = OrtTestEngine.Build(ClipTextModel.Trace(dir, weights), "text_encoder"))
        {
            var o = engine.Run(new Dictionary<string, HostTensor> { ["input_ids"] = HostTensor.Int64(ids, batch, seq) });
            (last, pooled) = (o["last_hidden_state"], o["pooler_output"]);
        }

        var expected = Reference(w.ToDictionary(kv => kv.Key, kv => kv.Value.Data), ids, batch, seq, hidden, heads, inter, layers, act);
        Compare.Component(expected, last.Floats, "last_hidden_state");
        // legacy rule: the largest id (11 at 3, 39 at 2); otherwise the first EOS (at 4, at 6)
        int[] eos = eosTokenId == 2 ? [3, 2] : [4, 6];
        var expectedPooled = new float[batch * hidden];
        for (int b = 0; b < batch; b++) Array.Copy(expected, (b * seq + eos[b]) * hidden, expectedPooled, b * hidden, hidden);
        output.WriteLine($"eos {eosTokenId}, {act}: last_hidden_state max abs error {Compare.MaxAbs(expected, last.Floats):g3}, pooled {Compare.MaxAbs(expectedPooled, pooled.Floats):g3}");
        Compare.Component(expectedPooled, pooled.Floats, "pooler_output");
    }

    static float[] Reference(Dictionary<string, float[]> w, long[] ids, int batch, int seq, int hidden, int heads, int inter, int layers, string act)
    {
        int hd = hidden / heads;
        double[] Ln(double[] x, string p)
        {
            double mean = x.Average(), v = x.Sum(e => (e - mean) * (e - mean)) / x.Length, r = 1 / Math.Sqrt(v + 1e-5);
            return x.Select((e, i) => (e - mean) * r * w[p + ".weight"][i] + w[p + ".bias"][i]).ToArray();
        }
        double[] Lin(string p, int outF, int inF, double[] x) =>
            Enumerable.Range(0, outF).Select(o => w[p + ".bias"][o] + Enumerable.Range(0, inF).Sum(k => w[p + ".weight"][o * inF + k] * x[k])).ToArray();
        static double Erf(double x)
        { // .NET has no erf: Numerical Recipes' Chebyshev fit of erfc (relative error < 1.2e-7)
            double t = 1 / (1 + 0.5 * Math.Abs(x));
            double y = 1 - t * Math.Exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
                t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
            return x >= 0 ? y : -y;
        }
        Func<double, double> f = act == "quick_gelu" ? x => x / (1 + Math.Exp(-1.702 * x)) : x => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));
        var result = new float[batch * seq * hidden];
        for (int b = 0; b < batch; b++)
        {
            var x = new double[seq][];
            for (int s = 0; s < seq; s++)
                x[s] = Enumerable.Range(0, hidden).Select(k => (double)w["embeddings.token_embedding.weight"][ids[b * seq + s] * hidden + k] + w["embeddings.position_embedding.weight"][s * hidden + k]).ToArray();
            for (int l = 0; l < layers; l++)
            {
                string p = $"encoder.layers.{l}.";
                var h = x.Select(v => Ln(v, p + "layer_norm1")).ToArray();
                var q = h.Select(v => Lin(p + "self_attn.q_proj", hidden, hidden, v)).ToArray();
                var k = h.Select(v => Lin(p + "self_attn.k_proj", hidden, hidden, v)).ToArray();
                var vv = h.Select(v => Lin(p + "self_attn.v_proj", hidden, hidden, v)).ToArray();
                for (int i = 0; i < seq; i++)
                {
                    var ctx = new double[hidden];
                    for (int hh = 0; hh < heads; hh++)
                    {
                        var sc = Enumerable.Range(0, i + 1).Select(j => Enumerable.Range(0, hd).Sum(e => q[i][hh * hd + e] * k[j][hh * hd + e]) / Math.Sqrt(hd)).ToArray();
                        double m = sc.Max(), z = sc.Sum(s => Math.Exp(s - m));
                        for (int j = 0; j <= i; j++) for (int e = 0; e < hd; e++) ctx[hh * hd + e] += Math.Exp(sc[j] - m) / z * vv[j][hh * hd + e];
                    }
                    var o = Lin(p + "self_attn.out_proj", hidden, hidden, ctx);
                    for (int e = 0; e < hidden; e++) x[i][e] += o[e];
                }
                for (int i = 0; i < seq; i++)
                {
                    var m = Lin(p + "mlp.fc2", hidden, inter, Lin(p + "mlp.fc1", inter, hidden, Ln(x[i], p + "layer_norm2")).Select(f).ToArray());
                    for (int e = 0; e < hidden; e++) x[i][e] += m[e];
                }
            }
            for (int s = 0; s < seq; s++)
            {
                var y = Ln(x[s], "final_layer_norm");
                for (int e = 0; e < hidden; e++) result[(b * seq + s) * hidden + e] = (float)y[e];
            }
        }
        return result;
    }
}
